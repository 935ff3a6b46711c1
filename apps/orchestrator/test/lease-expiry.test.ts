import { setTimeout as sleep } from 'node:timers/promises';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  claimOne,
  complete,
  completeBatch,
  createJob,
  eventually,
  getExecution,
  getJob,
  heartbeat,
  jobExecutions,
  ms,
  registerRunner,
  succeeded,
} from './helpers.js';

/**
 * Leases and fencing, with short timings: a 4 s lease, heartbeats every 1 s (so OFFLINE after 3 s of silence) and
 * a reaper every 100 ms. (A 1 s lease made the holder's lease expire between two steps of a test on a loaded
 * machine; 4 s leaves a stall of 3 s before a heartbeat comes too late. Lease arithmetic without waiting is in
 * transitions.test.ts, with a stepped clock.)
 */

const LEASE_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 1_000;

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator({
    env: {
      LEASE_MS: String(LEASE_MS),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
      REAPER_INTERVAL_MS: '100',
    },
  });
});
afterAll(() => stopTestOrchestrator(o));

const executionRow = (id: number) =>
  o.db.selectFrom('executions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const jobRow = (id: number) =>
  o.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

test('an expired lease times the execution out; the retry goes to another runner; the stale report is fenced', async () => {
  const job = await createJob(o, { type: 'echo', payload: 'lease', backoff: { initialDelayMs: 0 } });
  const stale = await registerRunner(o, { name: 'stale', types: ['echo'] });
  const first = await claimOne(o, stale, 0);
  expect(first).toMatchObject({ jobId: job.id, attempt: 1 });
  const leaseMs = ms(first.leaseExpiresAt) - ms((await getExecution(o, first.id)).claimedAt);
  expect(leaseMs).toBe(LEASE_MS);

  // The stale runner never heartbeats: the reaper times the attempt out and schedules attempt 2.
  const timedOut = await eventually(
    'attempt 1 TIMED_OUT',
    async () => {
      const e = await getExecution(o, first.id);
      return e.status === 'TIMED_OUT' ? e : undefined;
    },
    30_000,
  );
  expect(timedOut).toMatchObject({ runnerId: stale, leaseExpiresAt: null });
  expect(timedOut.error).toMatch(/lease expired/);
  expect(ms(timedOut.finishedAt)).toBeGreaterThanOrEqual(ms(first.leaseExpiresAt));

  const holder = await registerRunner(o, { name: 'holder', types: ['echo'] });
  const second = await claimOne(o, holder, 5);
  expect(second).toMatchObject({ jobId: job.id, attempt: 2, payload: 'lease' });
  await heartbeat(o, holder, [second.id]);

  // The stale runner's late report: 409, and nothing changes, neither its own row nor the retry nor the job.
  const before = {
    first: await executionRow(first.id),
    second: await executionRow(second.id),
    job: await jobRow(job.id),
  };
  const late = await complete(o, stale, first.id, succeeded('late'));
  expect(late.statusCode, late.body).toBe(409);
  expect(late.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(late.json()).toMatchObject({ status: 409, code: 'NOT_HOLDER' });
  // Nor may it complete the attempt it never held.
  const wrong = await complete(o, stale, second.id, succeeded('not mine'));
  expect(wrong.statusCode, wrong.body).toBe(409);
  // The batch form gives a verdict per execution instead of a 409.
  expect(
    await completeBatch(o, stale, [
      { executionId: first.id, outcome: succeeded('late') },
      { executionId: second.id, outcome: { status: 'FAILED', error: 'late' } },
    ]),
  ).toEqual([
    { executionId: first.id, verdict: 'conflict', status: 'TIMED_OUT' },
    { executionId: second.id, verdict: 'conflict', status: 'RUNNING' },
  ]);
  expect({
    first: await executionRow(first.id),
    second: await executionRow(second.id),
    job: await jobRow(job.id),
  }).toEqual(before);
  // The stale runner's heartbeat tells it to abort the attempt it lost.
  expect((await heartbeat(o, stale, [first.id])).cancel).toEqual([first.id]);

  // The holder's report is recorded; the same report again gets the same answer.
  await heartbeat(o, holder, [second.id]);
  const done = await complete(o, holder, second.id, succeeded({ n: 2 }));
  expect(done.statusCode, done.body).toBe(200);
  expect(done.json()).toMatchObject({
    id: second.id,
    status: 'SUCCEEDED',
    result: { n: 2 },
    runnerId: holder,
  });
  const again = await complete(o, holder, second.id, succeeded({ n: 2 }));
  expect(again.statusCode, again.body).toBe(200);
  expect(again.json()).toEqual(done.json());
  expect(await completeBatch(o, holder, [{ executionId: second.id, outcome: succeeded({ n: 2 }) }])).toEqual([
    { executionId: second.id, verdict: 'duplicate', status: 'SUCCEEDED' },
  ]);
  // A different outcome for an execution already recorded is a conflict, not a rewrite.
  const changed = await complete(o, holder, second.id, { status: 'FAILED', error: 'changed my mind' });
  expect(changed.statusCode).toBe(409);
  expect(await getExecution(o, second.id)).toEqual(done.json());

  expect(await getJob(o, job.id)).toMatchObject({ status: 'SUCCEEDED' });
  expect((await jobExecutions(o, job.id)).map((e) => [e.attempt, e.status])).toEqual([
    [1, 'TIMED_OUT'],
    [2, 'SUCCEEDED'],
  ]);
});

test('heartbeats keep a lease alive past LEASE_MS', async () => {
  const job = await createJob(o, { type: 'noop' });
  const runner = await registerRunner(o, { name: 'beating', types: ['noop'] });
  const e = await claimOne(o, runner, 0);
  expect(e.jobId).toBe(job.id);

  const started = Date.now();
  let lastLease = ms(e.leaseExpiresAt);
  while (Date.now() - started < LEASE_MS + 1_000) {
    await sleep(HEARTBEAT_INTERVAL_MS);
    const hb = await heartbeat(o, runner, [e.id]);
    expect(hb).toMatchObject({ cancel: [], drain: false });
    expect(ms(hb.leaseExpiresAt)).toBeGreaterThan(lastLease);
    lastLease = ms(hb.leaseExpiresAt);
  }
  const still = await getExecution(o, e.id);
  expect(still).toMatchObject({ status: 'RUNNING', runnerId: runner });
  expect(ms(still.leaseExpiresAt)).toBe(lastLease);
  expect(await jobExecutions(o, job.id)).toHaveLength(1);
  await complete(o, runner, e.id, succeeded());
});

test('a runner silent for 3 heartbeat intervals becomes OFFLINE, and ONLINE again when it heartbeats', async () => {
  const runner = await registerRunner(o, { name: 'quiet', types: ['noop'] });
  const statusOf = async () => {
    const res = await o.app.inject({ method: 'GET', url: '/runners?includeOffline=true' });
    return (res.json().items as { id: string; status: string }[]).find((r) => r.id === runner)?.status;
  };
  await heartbeat(o, runner);
  const lastBeat = Date.now();
  expect(await statusOf()).toBe('ONLINE');
  await eventually(
    'runner OFFLINE',
    async () => ((await statusOf()) === 'OFFLINE' ? true : undefined),
    30_000,
    25,
  );
  // Not before its 3 intervals of silence were over (allowing for the heartbeat's own round trip).
  expect(Date.now() - lastBeat).toBeGreaterThanOrEqual(3 * HEARTBEAT_INTERVAL_MS - 50);
  // Hidden from the default list, which shows live runners only.
  const live = await o.app.inject({ method: 'GET', url: '/runners' });
  expect((live.json().items as { id: string }[]).map((r) => r.id)).not.toContain(runner);

  await heartbeat(o, runner);
  expect(await statusOf()).toBe('ONLINE');
});
