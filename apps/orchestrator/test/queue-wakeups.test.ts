import { setTimeout as sleep } from 'node:timers/promises';
import type { TestOrchestrator } from '@hourglass/testkit/orchestrator';
import { sql } from 'kysely';
import pg from 'pg';
import { expect, test } from 'vitest';
import { QUEUE_SETTINGS_LOCK } from '../src/queue/claim-executions.js';
import {
  claim,
  completeOk,
  createJobs,
  eventually,
  registerRunner,
  replicasPerFile,
  succeeded,
} from './helpers.js';

/**
 * Runners waiting on a queue with limits are woken when a claim can succeed again (issue 14's leftovers), not by
 * the safety net: it is set to a minute here, past every claim's wait, so a claim answered within seconds was woken
 * by the room freeing or the window opening. Bounds are loose on purpose (woken, not how fast). Each test's runners
 * serve only its queue, so that one test's leftovers cannot answer another's claims.
 */

const [a, b] = replicasPerFile({ WAKE_SAFETY_NET_MS: '60000' });

async function configure(name: string, settings: Record<string, unknown>) {
  const res = await a.app.inject({ method: 'PUT', url: `/queues/${name}`, payload: settings });
  expect(res.statusCode, res.body).toBe(200);
}

/** Starts a long-poll claim now; resolves with what it got and how long it took. */
function waitingClaim(o: TestOrchestrator, runnerId: string, wait = 20) {
  const startedAt = Date.now();
  return claim(o, runnerId, { max: 1, wait }).then((got) => ({ got, tookMs: Date.now() - startedAt }));
}

/** Resolves once `check` holds (within 10 s). */
const waitUntil = (what: string, check: () => Promise<boolean> | boolean) =>
  eventually(what, async () => ((await check()) ? true : undefined), 10_000, 20);

test.each([
  ['on the same replica', () => a],
  ['on another replica', () => b],
])(
  'a runner waiting on a full queue is woken when a report frees room %s',
  async (_, waiterReplica) => {
    const queue = `full-${waiterReplica() === a ? 'same' : 'other'}`;
    await configure(queue, { concurrency: 1 });
    await createJobs(a, [{ queue }, { queue }]);
    const holder = await registerRunner(a, { name: 'holder', queues: [queue] });
    const [held] = await claim(a, holder, { max: 1 });
    expect(held).toBeDefined();

    const o = waiterReplica();
    const waiter = await registerRunner(o, { name: 'waiter', queues: [queue] });
    const pending = waitingClaim(o, waiter);
    await waitUntil('the claim waits', () => o.services.claims.waiting === 1);
    await completeOk(a, holder, held!.id, succeeded());
    const { got, tookMs } = await pending;
    expect(got, 'the freed slot went to the waiting runner').toHaveLength(1);
    expect(tookMs).toBeLessThan(10_000);
  },
  30_000,
);

test.each([
  [
    'its lease expires (the reaper times it out)',
    async (_holder: string, heldId: number) => {
      // The lease as if the holder had gone silent long enough: the reaper (every second) times it out.
      await sql`UPDATE executions SET lease_expires_at = now() - interval '1 second' WHERE id = ${heldId}`.execute(
        a.db,
      );
    },
  ],
  [
    'its runner deregisters while holding it',
    async (holder: string, heldId: number) => {
      const res = await a.app.inject({
        method: 'DELETE',
        url: `/runners/${holder}`,
        payload: { started: [heldId] },
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
    },
  ],
])(
  'a runner waiting on a full queue is woken when the running execution ends because %s',
  async (label, end) => {
    const queue = `full-${label.startsWith('its lease') ? 'reaped' : 'deregistered'}`;
    await configure(queue, { concurrency: 1 });
    // The ended attempt's retry is a minute away: its own wake-up cannot be what serves the waiting claim.
    const backoff = { initialDelayMs: 60_000 };
    await createJobs(a, [
      { queue, backoff },
      { queue, backoff },
    ]);
    const holder = await registerRunner(a, { name: `holder-${queue}`, queues: [queue] });
    const [held] = await claim(a, holder, { max: 1 });
    expect(held).toBeDefined();

    const waiter = await registerRunner(b, { name: `waiter-${queue}`, queues: [queue] });
    const pending = waitingClaim(b, waiter);
    await waitUntil('the claim waits', () => b.services.claims.waiting === 1);
    await end(holder, held!.id);
    const { got, tookMs } = await pending;
    expect(got, 'the freed slot went to the waiting runner').toHaveLength(1);
    expect(got[0]!.jobId).not.toBe(held!.jobId);
    expect(tookMs).toBeLessThan(10_000);
  },
  30_000,
);

test('a wake-up that comes while a claim is under way is not lost: the claim is served again once it waits', async () => {
  // The waiting claim must read the queue as full, then the report that frees it must commit and wake this replica
  // before that claim parks. The settings lock (taken exclusively here) holds the claim's first statement after
  // it took its snapshot: it reads the queue as it was before the report, whenever the lock is let go.
  const queue = 'overtaken';
  await configure(queue, { concurrency: 1 });
  await createJobs(a, [{ queue }, { queue }]);
  const holder = await registerRunner(a, { name: 'holder', queues: [queue] });
  const [held] = await claim(a, holder, { max: 1 });
  expect(held).toBeDefined();

  const blocker = new pg.Client({ connectionString: a.database.url });
  await blocker.connect();
  try {
    await blocker.query('SELECT pg_advisory_lock($1)', [QUEUE_SETTINGS_LOCK]);
    const waiter = await registerRunner(a, { name: 'waiter', queues: [queue] });
    const pending = waitingClaim(a, waiter);
    await waitUntil('the claim waits for the settings lock', async () => {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
      `.execute(a.db);
      return rows[0]!.n > 0;
    });
    await completeOk(a, holder, held!.id, succeeded());
    // The report's wake-up has come and gone: nothing was parked yet.
    await sleep(200);
    expect(a.services.claims.waiting).toBe(0);
    await blocker.query('SELECT pg_advisory_unlock($1)', [QUEUE_SETTINGS_LOCK]);
    const { got, tookMs } = await pending;
    expect(got, 'served after the overtaken claim parked').toHaveLength(1);
    expect(tookMs).toBeLessThan(10_000);
  } finally {
    await blocker.end();
  }
}, 30_000);

test.each([
  ['queue-wide', false],
  ['per key', true],
])(
  'a runner waiting on a full %s rate window is woken when it opens, not before',
  async (label, perKey) => {
    const queue = `rate-${perKey ? 'key' : 'queue'}`;
    const periodMs = 1_500;
    await configure(queue, { rateLimit: { limit: 1, periodMs, perKey } });
    await createJobs(a, [
      { queue, concurrencyKey: 'k' },
      { queue, concurrencyKey: 'k' },
    ]);
    const runner = await registerRunner(a, { name: `rate-${label}`, queues: [queue] });
    const [first] = await claim(a, runner, { max: 1 });
    expect(first).toBeDefined();
    const { got, tookMs } = await waitingClaim(a, runner);
    expect(got, 'the second job, once the window let it through').toHaveLength(1);
    const { rows } = await sql<{ gap_ms: number }>`
    SELECT (extract(epoch FROM max(claimed_at) - min(claimed_at)) * 1000)::float8 AS gap_ms
    FROM executions WHERE queue = ${queue}
  `.execute(a.db);
    expect(rows[0]!.gap_ms, 'not before the window opened').toBeGreaterThanOrEqual(periodMs);
    expect(tookMs).toBeLessThan(10_000);
  },
  30_000,
);
