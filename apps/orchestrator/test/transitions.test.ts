import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, test } from 'vitest';
import { AppError } from '../src/errors.js';
import {
  COMMAND_RULES,
  decide,
  JOB_STATUSES,
  type JobCommand,
  type JobKind,
  type JobStatus,
  REFUSALS,
  refuses,
  renderTransitionTables,
} from '../src/lifecycle/transitions.js';
import type { CompletionInput } from '../src/queue/complete-executions.js';
import type { NewJob } from '../src/queue/insert-jobs.js';
import { promoteDueExecutions } from '../src/queue/promote-due-executions.js';
import { steppedLifecyclePerFile } from './stepped-lifecycle.js';

/**
 * The job lifecycle (issue 10): the transition table is complete and printed in docs/lifecycle.md as it is in the
 * code, and every transition, walked on a real database through JobLifecycle, leads where the table says. Time is
 * injected (the lifecycle's clock), so lease expiry and backoff are stepped over instead of waited for, and no
 * orchestrator loop runs beside it.
 */

const stepped = steppedLifecyclePerFile({
  type: 'walk',
  start: '2030-01-01T00:00:00Z',
  runnerId: '00000000-0000-4000-8000-000000000001',
});
const LEASE_MS = 30_000;
const RUNNER = stepped.runnerId;
const advance = (ms: number) => stepped.advance(ms);

/** A job of `kind`; a recurring one every hour, first in an hour. */
const newJob = (kind: JobKind, fields: Partial<NewJob> = {}): NewJob =>
  stepped.newJob({
    kind,
    ...(kind === 'once'
      ? {}
      : { interval_seconds: 3600, run_at: new Date(stepped.now().getTime() + 3_600_000).toISOString() }),
    ...fields,
  });

const jobStatus = async (id: number): Promise<JobStatus | 'deleted'> =>
  (await sql<{ status: JobStatus }>`SELECT status FROM jobs WHERE id = ${id}`.execute(stepped.db)).rows[0]
    ?.status ?? 'deleted';
const executionsOf = async (jobId: number) =>
  (
    await sql<{ id: number; status: string; attempt: number; scheduled_for: Date; finished_at: Date | null }>`
      SELECT id, status, attempt, scheduled_for, finished_at FROM executions WHERE job_id = ${jobId} ORDER BY id
    `.execute(stepped.db)
  ).rows;
const deadLettersOf = async (jobId: number) =>
  (
    await sql<{ id: number }>`SELECT id FROM dead_letters WHERE job_id = ${jobId} ORDER BY id`.execute(
      stepped.db,
    )
  ).rows;

async function claimAll() {
  return stepped.lifecycle.claim({
    runnerId: RUNNER,
    types: ['walk'],
    queues: null,
    max: 100,
    leaseMs: LEASE_MS,
    maxBytes: 4 * 1024 * 1024,
  });
}
/** Claims exactly the next execution of `jobId` (the only due one: each test drains what it leaves due). */
async function claimOf(jobId: number) {
  const claimed = await claimAll();
  const mine = claimed.filter((c) => c.job_id === jobId);
  expect(mine, `claim of job ${jobId}`).toHaveLength(1);
  // Anything else due belonged to another walk step: give it back untouched.
  const others = claimed.filter((c) => c.job_id !== jobId).map((c) => c.id);
  if (others.length) await stepped.lifecycle.release(RUNNER, others);
  return mine[0]!;
}
const report = (id: number, status: CompletionInput['status'], extra: Partial<CompletionInput> = {}) =>
  stepped.report([id], status, extra);

/** Builds a job of `kind` in `status`, the way it gets there in production; undefined when unreachable. */
async function jobIn(kind: JobKind, status: JobStatus, opts: { deadLetter?: boolean } = {}) {
  if (status === 'WAITING') {
    // Only a one-shot job waits for parents, and one that waits never ran: it has no dead letter to requeue.
    if (kind !== 'once' || opts.deadLetter) return undefined;
    // Its parent is due tomorrow: it never becomes claimable during the walk.
    const [parent] = await stepped.lifecycle.create([newJob('once', { delay_ms: 86_400_000 })]);
    const { rows } = await stepped.lifecycle.createGraph(
      [{ job: newJob('once'), refs: [], ids: [parent!.id], onParentFailure: 'cancel', ref: null }],
      { flow: false, field: () => 'dependsOn' },
    );
    expect(rows[0]!.status, 'set-up of a WAITING job').toBe('WAITING');
    return rows[0]!.id;
  }
  const [job] = await stepped.lifecycle.create([newJob(kind, { max_attempts: opts.deadLetter ? 1 : 3 })]);
  const id = job!.id;
  if (opts.deadLetter) {
    // One failed attempt with no attempts left: a dead letter (a one-shot job FAILED, a recurring one SCHEDULED).
    if (kind !== 'once') await stepped.lifecycle.trigger(id);
    await report((await claimOf(id)).id, 'FAILED');
  }
  const current = await jobStatus(id);
  if (current === status) return id;
  switch (status) {
    case 'SCHEDULED':
      if (current === 'FAILED' || current === 'SUCCEEDED') await stepped.lifecycle.trigger(id);
      break;
    case 'RUNNING':
      if (kind !== 'once' || current !== 'SCHEDULED') await stepped.lifecycle.trigger(id);
      await claimOf(id);
      break;
    case 'PAUSED':
      if (kind === 'once') return undefined;
      await stepped.lifecycle.pause(id);
      break;
    case 'SUCCEEDED':
      if (kind !== 'once') return undefined;
      if (current === 'FAILED') await stepped.lifecycle.trigger(id);
      await report((await claimOf(id)).id, 'SUCCEEDED');
      break;
    case 'FAILED':
      if (kind !== 'once') return undefined;
      await report((await claimOf(id)).id, 'FAILED', { retryable: false });
      break;
    case 'CANCELLED':
      if (current === 'FAILED' || current === 'SUCCEEDED') await stepped.lifecycle.trigger(id);
      await stepped.lifecycle.cancel(id);
      break;
  }
  expect(await jobStatus(id), `set-up of a ${kind} ${status} job`).toBe(status);
  return id;
}

const run = (command: JobCommand, id: number, deadLetterId: number | undefined) => {
  switch (command) {
    case 'cancel':
      return stepped.lifecycle.cancel(id);
    case 'pause':
      return stepped.lifecycle.pause(id);
    case 'resume':
      return stepped.lifecycle.resume(id);
    case 'reschedule':
      return stepped.lifecycle.reschedule(id, { intervalSeconds: 120 });
    case 'trigger':
      return stepped.lifecycle.trigger(id);
    case 'requeue':
      return stepped.lifecycle.requeue(deadLetterId!);
    case 'delete':
      return stepped.lifecycle.delete(id);
  }
};

const KINDS: JobKind[] = ['once', 'interval'];
const COMMANDS: JobCommand[] = ['cancel', 'pause', 'resume', 'reschedule', 'trigger', 'requeue', 'delete'];

describe('the transition table', () => {
  test('answers every command for every kind and status with exactly one rule or refusal', () => {
    for (const command of COMMANDS)
      for (const kind of KINDS)
        for (const status of JOB_STATUSES) {
          const applies = (k: 'once' | 'recurring' | 'any') =>
            k === 'any' || (k === 'once') === (kind === 'once');
          const rules = COMMAND_RULES.filter(
            (r) => r.command === command && applies(r.kinds) && r.from.includes(status),
          );
          const refusals = REFUSALS.filter(
            (r) => refuses(r, command) && applies(r.kinds) && (r.from === 'any' || r.from.includes(status)),
          );
          expect(rules.length + refusals.length, `${command} of a ${kind} ${status} job`).toBe(1);
        }
  });

  test('is printed in docs/lifecycle.md exactly as the code has it', () => {
    const doc = readFileSync(new URL('../../../docs/lifecycle.md', import.meta.url), 'utf8');
    expect(doc).toContain(renderTransitionTables());
  });
});

describe('every command, walked on the database', () => {
  for (const command of COMMANDS)
    for (const kind of KINDS)
      for (const status of JOB_STATUSES) {
        test(`${command} of a ${kind} ${status} job`, async () => {
          const id = await jobIn(kind, status, { deadLetter: command === 'requeue' });
          if (id === undefined) return; // a state this kind of job never reaches (e.g. a PAUSED one-shot job)
          const deadLetter = (await deadLettersOf(id))[0]?.id;
          const decision = decide(command, { status, kind });
          const before = await executionsOf(id);
          const outcome = await run(command, id, deadLetter).then(
            () => undefined,
            (err: unknown) => err,
          );
          if (decision.allowed) {
            expect(outcome, String(outcome)).toBeUndefined();
            expect(await jobStatus(id)).toBe(decision.rule.to === 'unchanged' ? status : decision.rule.to);
          } else {
            expect(outcome).toBeInstanceOf(AppError);
            expect((outcome as AppError).code).toBe(decision.refusal.code);
            // A refused command changes nothing.
            expect(await jobStatus(id)).toBe(status);
            expect(await executionsOf(id)).toEqual(before);
          }
          // Leave nothing due for the next step's claims.
          await stepped.lifecycle.cancel(id).catch(() => {});
          const left = (await claimAll()).map((c) => c.id);
          if (left.length) await report(left[0]!, 'SUCCEEDED');
        });
      }
});

describe('what work does to jobs and executions, with time stepped instead of waited for', () => {
  test('claim, then success: PENDING → RUNNING → SUCCEEDED; the one-shot job SCHEDULED → RUNNING → SUCCEEDED', async () => {
    const [job] = await stepped.lifecycle.create([newJob('once')]);
    const e = await claimOf(job!.id);
    expect(await jobStatus(job!.id)).toBe('RUNNING');
    expect(e.lease_expires_at.getTime()).toBe(stepped.now().getTime() + LEASE_MS);
    await report(e.id, 'SUCCEEDED');
    expect((await executionsOf(job!.id)).map((x) => x.status)).toEqual(['SUCCEEDED']);
    expect(await jobStatus(job!.id)).toBe('SUCCEEDED');
  });

  test('a failure with attempts left is retried after exactly the backoff, not before', async () => {
    const [job] = await stepped.lifecycle.create([newJob('once')]);
    const first = await claimOf(job!.id);
    await report(first.id, 'FAILED');
    expect(await jobStatus(job!.id)).toBe('SCHEDULED');
    const retry = (await executionsOf(job!.id))[1]!;
    expect(retry).toMatchObject({ status: 'PENDING', attempt: 2 });
    expect(retry.scheduled_for.getTime()).toBe(stepped.now().getTime() + 5_000);
    // The promoter loop (not running here) makes rows claimable shortly before they are due; step it by hand.
    advance(4_999);
    await promoteDueExecutions(stepped.db, 100, stepped.now());
    expect((await claimAll()).filter((c) => c.job_id === job!.id)).toEqual([]);
    advance(1);
    expect((await claimOf(job!.id)).attempt).toBe(2);
  });

  test('an expired lease: RUNNING → TIMED_OUT once the clock passes it, then retried; heartbeats push it out', async () => {
    const [job] = await stepped.lifecycle.create([newJob('once')]);
    const e = await claimOf(job!.id);
    advance(LEASE_MS - 1_000);
    await stepped.lifecycle.heartbeat(RUNNER, [e.id], LEASE_MS);
    advance(LEASE_MS - 1); // past the first lease, within the renewed one
    expect((await stepped.lifecycle.reapExpired(100)).reaped).toEqual([]);
    advance(2);
    const { reaped, retries } = await stepped.lifecycle.reapExpired(100);
    expect(reaped.map((r) => [r.id, r.status])).toEqual([[e.id, 'TIMED_OUT']]);
    expect(retries).toHaveLength(1);
    expect(await jobStatus(job!.id)).toBe('SCHEDULED');
    // The old holder's late report is fenced off.
    const late = await report(e.id, 'SUCCEEDED');
    expect(late.recorded).toEqual([]);
    await stepped.lifecycle.cancel(job!.id);
  });

  test('no attempts left: FAILED, dead-lettered; the one-shot job FAILED', async () => {
    const [job] = await stepped.lifecycle.create([newJob('once', { max_attempts: 1 })]);
    await report((await claimOf(job!.id)).id, 'FAILED');
    expect(await jobStatus(job!.id)).toBe('FAILED');
    expect(await deadLettersOf(job!.id)).toHaveLength(1);
  });

  test('given back: RUNNING → PENDING with the same attempt; CANCELLED when its job was cancelled', async () => {
    const [a, b] = await stepped.lifecycle.create([newJob('once'), newJob('once')]);
    const ea = await claimOf(a!.id);
    await stepped.lifecycle.release(RUNNER, [ea.id]);
    expect((await executionsOf(a!.id)).map((x) => [x.status, x.attempt])).toEqual([['PENDING', 1]]);
    const eb = await claimOf(b!.id);
    await stepped.lifecycle.cancel(b!.id);
    await stepped.lifecycle.release(RUNNER, [eb.id]);
    expect((await executionsOf(b!.id)).map((x) => x.status)).toEqual(['CANCELLED']);
    await stepped.lifecycle.cancel(a!.id);
  });

  test('a failure of a paused recurring job is neither retried nor dead-lettered', async () => {
    const [job] = await stepped.lifecycle.create([newJob('interval')]);
    await stepped.lifecycle.trigger(job!.id);
    const e = await claimOf(job!.id);
    await stepped.lifecycle.pause(job!.id);
    const { retries } = await report(e.id, 'FAILED');
    expect(retries).toEqual([]);
    expect(await deadLettersOf(job!.id)).toEqual([]);
    expect(await jobStatus(job!.id)).toBe('PAUSED');
  });

  test('a recurring occurrence: — → PENDING when the clock reaches it, not before; queued ones start after', async () => {
    const [job] = await stepped.lifecycle.create([
      newJob('interval', {
        interval_seconds: 60,
        run_at: new Date(stepped.now().getTime() + 60_000).toISOString(),
      }),
    ]);
    const tick = () => stepped.lifecycle.materializeDueOccurrences({ jobs: 100, steps: 1000, sliceMs: 50 });
    advance(59_999);
    expect((await tick()).created).toEqual([]);
    advance(1);
    const { created } = await tick();
    expect(created.map((d) => d.getTime())).toEqual([stepped.now().getTime()]);
    expect((await executionsOf(job!.id)).map((x) => [x.status, x.scheduled_for.getTime()])).toEqual([
      ['PENDING', stepped.now().getTime()],
    ]);
    await stepped.lifecycle.cancel(job!.id);
  });

  test('a runner deregistering: started → FAILED (then retried), never started → PENDING', async () => {
    const [a, b] = await stepped.lifecycle.create([newJob('once'), newJob('once')]);
    const ea = await claimOf(a!.id);
    const eb = await claimOf(b!.id);
    const settled = await stepped.lifecycle.deregister(RUNNER, [ea.id]);
    expect(settled).toMatchObject({ abandoned: [ea.id], released: [eb.id] });
    expect((await executionsOf(a!.id)).map((x) => x.status)).toEqual(['FAILED', 'PENDING']);
    expect((await executionsOf(b!.id)).map((x) => x.status)).toEqual(['PENDING']);
    await stepped.lifecycle.cancel(a!.id);
    await stepped.lifecycle.cancel(b!.id);
  });
});
