import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claim, claimOne, createJob, getExecution, ms, registerRunner } from './helpers.js';

/** What a claim hands out, and in which order: priority (higher first), then due time; nothing early. */

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

const ago = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

test('claims go by priority, higher first, then by due time', async () => {
  const runnerId = await registerRunner(o, { types: ['echo'], capacity: 10 });
  // Created in an order that is neither the priority order nor the due-time order.
  const specs = [
    { label: 'p0-due-20s-ago', priority: 0, runAt: ago(20_000) },
    { label: 'p5-due-1s-ago', priority: 5, runAt: ago(1_000) },
    { label: 'p0-due-40s-ago', priority: 0, runAt: ago(40_000) },
    { label: 'p-3-due-50s-ago', priority: -3, runAt: ago(50_000) },
    { label: 'p5-due-30s-ago', priority: 5, runAt: ago(30_000) },
    { label: 'p10-due-now', priority: 10 },
    { label: 'p0-due-30s-ago', priority: 0, runAt: ago(30_000) },
  ];
  const labelOf = new Map<number, string>();
  for (const { label, ...body } of specs) {
    const job = await createJob(o, { ...body, payload: label });
    labelOf.set(job.id, label);
  }

  const order: string[] = [];
  for (let i = 0; i < specs.length; i++) {
    const [e] = await claim(o, runnerId, { max: 1 });
    expect(e, `claim ${i + 1} got nothing`).toBeDefined();
    order.push(labelOf.get(e!.jobId)!);
  }
  expect(order).toEqual([
    'p10-due-now',
    'p5-due-30s-ago',
    'p5-due-1s-ago',
    'p0-due-40s-ago',
    'p0-due-30s-ago',
    'p0-due-20s-ago',
    'p-3-due-50s-ago',
  ]);
  expect(await claim(o, runnerId, { max: 1 })).toEqual([]);
});

test('a batch claim (max) takes the highest-priority executions, in the same order', async () => {
  const runnerId = await registerRunner(o, { types: ['sleep'], capacity: 10 });
  const priorities = [1, 7, 3, 9, 5, 2];
  const byJob = new Map<number, number>();
  for (const priority of priorities)
    byJob.set((await createJob(o, { type: 'sleep', priority })).id, priority);
  const first = await claim(o, runnerId, { max: 3 });
  expect(first.map((e) => byJob.get(e.jobId)).sort((a, b) => b! - a!)).toEqual([9, 7, 5]);
  const rest = await claim(o, runnerId, { max: 10 });
  expect(rest.map((e) => byJob.get(e.jobId)).sort((a, b) => b! - a!)).toEqual([3, 2, 1]);
});

test('an execution due later is not claimed early, and is claimed once due', async () => {
  const runnerId = await registerRunner(o, { types: ['noop'], capacity: 5 });
  const far = await createJob(o, { type: 'noop', runAt: new Date(Date.now() + 3_600_000).toISOString() });
  const soon = await createJob(o, { type: 'noop', delayMs: 1_500 });
  const due = new Date(soon.runAt).getTime();

  // Nothing is due yet: an immediate claim gets nothing, not even with a high `max`.
  expect(await claim(o, runnerId, { max: 5 })).toEqual([]);

  // A waiting claim gets the delayed execution once it is due, and never the one due in an hour.
  const e = await claimOne(o, runnerId, 10);
  expect(e.jobId).toBe(soon.id);
  expect(ms(e.scheduledFor)).toBe(due);
  const claimedAt = ms((await getExecution(o, e.id)).claimedAt);
  expect(claimedAt).toBeGreaterThanOrEqual(due);

  expect(await claim(o, runnerId, { max: 5 })).toEqual([]);
  const waiting = await o.db.selectFrom('executions').selectAll().where('job_id', '=', far.id).execute();
  expect(waiting).toMatchObject([{ status: 'PENDING', runner_id: null, claimed_at: null }]);
});

test('a runner only gets the job types it registered for', async () => {
  const a = await createJob(o, { type: 'echo', payload: 'a' });
  const b = await createJob(o, { type: 'noop' });
  const c = await createJob(o, { type: 'sleep', payload: { durationMs: 1 } });

  const sleepOnly = await registerRunner(o, { types: ['sleep'], capacity: 10 });
  const got = await claim(o, sleepOnly, { max: 10 });
  expect(got.map((e) => e.jobId)).toEqual([c.id]);
  expect(got[0]!.type).toBe('sleep');

  const echoOrNoop = await registerRunner(o, { types: ['noop', 'echo'], capacity: 10 });
  const rest = await claim(o, echoOrNoop, { max: 10 });
  expect(rest.map((e) => e.jobId).sort((x, y) => x - y)).toEqual([a.id, b.id]);
  expect(rest.find((e) => e.jobId === a.id)).toMatchObject({ type: 'echo', payload: 'a' });

  // A runner of a type nobody created gets nothing and leaves nothing claimed.
  const other = await registerRunner(o, { types: ['webhook'], capacity: 10 });
  await createJob(o, { type: 'echo' });
  expect(await claim(o, other, { max: 10 })).toEqual([]);
  const pending = await o.db.selectFrom('executions').select('id').where('status', '=', 'PENDING').execute();
  expect(pending.length).toBeGreaterThan(0);
});
