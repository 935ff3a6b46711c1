import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimedExecution } from '@hourglass/contracts';
import { sql } from 'kysely';
import { expect, test } from 'vitest';
import { claim, completeBatch, createJobs, registerRunner, replicasPerFile } from './helpers.js';

/**
 * Queue limits hold across replicas (issue 14): two orchestrators on one database, four runners (two on each)
 * claiming at once, while a sampler reads what runs from the database throughout.
 */

const [a, b] = replicasPerFile();

async function configure(name: string, settings: Record<string, unknown>) {
  const res = await a.app.inject({ method: 'PUT', url: `/queues/${name}`, payload: settings });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** What runs in `queue` right now, in one snapshot: in all, and with the busiest key. */
async function runningNow(queue: string) {
  const { rows } = await sql<{ total: number; busiest: number }>`
    SELECT coalesce(sum(n), 0)::int AS total, coalesce(max(n), 0)::int AS busiest
    FROM (SELECT count(*) AS n FROM executions WHERE queue = ${queue} AND status = 'RUNNING'
          GROUP BY concurrency_key) s
  `.execute(a.db);
  return rows[0]!;
}

async function unfinished(queue: string) {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM jobs WHERE queue = ${queue} AND status <> 'SUCCEEDED'
  `.execute(a.db);
  return rows[0]!.n;
}

/**
 * Four runners (two per orchestrator, capacity 3 each) work through `queue` until every job in it succeeded;
 * each handler takes a few ms. Meanwhile the RUNNING counts are sampled. Returns the highest counts seen.
 */
async function drain(queue: string, timeoutMs = 60_000) {
  const runners = await Promise.all(
    [a, a, b, b].map(async (o, i) => ({ o, id: await registerRunner(o, { name: `r${i}`, capacity: 3 }) })),
  );
  let done = false;
  const seen = { total: 0, busiest: 0, samples: 0 };
  const sampler = (async () => {
    while (!done) {
      const now = await runningNow(queue);
      seen.total = Math.max(seen.total, now.total);
      seen.busiest = Math.max(seen.busiest, now.busiest);
      seen.samples++;
    }
  })();
  const deadline = Date.now() + timeoutMs;
  const work = runners.map(async ({ o, id }) => {
    while (!done && Date.now() < deadline) {
      const got: ClaimedExecution[] = await claim(o, id, { max: 3, wait: 1 });
      await Promise.all(
        got.map(async (e) => {
          await sleep(2 + Math.random() * 10);
          await completeBatch(o, id, [{ executionId: e.id, outcome: { status: 'SUCCEEDED', result: null } }]);
        }),
      );
    }
  });
  while ((await unfinished(queue)) > 0 && Date.now() < deadline) await sleep(50);
  done = true;
  await Promise.all([...work, sampler]);
  expect(await unfinished(queue), 'every job ran').toBe(0);
  return seen;
}

test('concurrency: never more than the limit RUNNING in the queue, with 4 runners on 2 orchestrators', async () => {
  await configure('conc', { concurrency: 4 });
  await createJobs(
    a,
    Array.from({ length: 120 }, () => ({ queue: 'conc' })),
  );
  const seen = await drain('conc');
  expect(seen.samples).toBeGreaterThan(20);
  expect(seen.total).toBeLessThanOrEqual(4);
  // The runners could hold 12 at once: the limit, not a lack of claimers, kept it at 4.
  expect(seen.total).toBeGreaterThanOrEqual(2);
}, 90_000);

test('perKeyConcurrency: never more than the limit RUNNING per key; keys run side by side', async () => {
  await configure('perkey', { perKeyConcurrency: 2 });
  await createJobs(
    a,
    Array.from({ length: 120 }, (_, i) => ({ queue: 'perkey', concurrencyKey: `k${i % 3}` })),
  );
  const seen = await drain('perkey');
  expect(seen.samples).toBeGreaterThan(20);
  expect(seen.busiest).toBeLessThanOrEqual(2);
  expect(seen.total).toBeGreaterThan(2);
}, 90_000);

/** For each claim, the claims of the same group in the period that ends with it (from executions.claimed_at). */
async function mostClaimsInAnyWindow(queue: string, periodMs: number, perKey: boolean) {
  const { rows } = await sql<{ n: number }>`
    SELECT coalesce(max(n), 0)::int AS n FROM (
      SELECT (SELECT count(*) FROM executions o
              WHERE o.queue = e.queue AND (NOT ${perKey} OR o.concurrency_key = e.concurrency_key)
                AND o.claimed_at > e.claimed_at - ${periodMs} * interval '1 millisecond'
                AND o.claimed_at <= e.claimed_at) AS n
      FROM executions e WHERE e.queue = ${queue} AND e.claimed_at IS NOT NULL
    ) s
  `.execute(a.db);
  return rows[0]!.n;
}

test('rateLimit: at most N claims in any period, with 4 runners on 2 orchestrators', async () => {
  await configure('rate', { rateLimit: { limit: 5, periodMs: 400 } });
  await createJobs(
    a,
    Array.from({ length: 25 }, () => ({ queue: 'rate' })),
  );
  await drain('rate');
  expect(await mostClaimsInAnyWindow('rate', 400, false)).toBe(5);
}, 90_000);

test('rateLimit per key: at most N claims per key in any period', async () => {
  await configure('ratekey', { rateLimit: { limit: 2, periodMs: 400, perKey: true } });
  await createJobs(
    a,
    Array.from({ length: 24 }, (_, i) => ({ queue: 'ratekey', concurrencyKey: `k${i % 3}` })),
  );
  await drain('ratekey');
  expect(await mostClaimsInAnyWindow('ratekey', 400, true)).toBe(2);
  // Keys are limited each on their own: the queue as a whole went faster than one key may.
  expect(await mostClaimsInAnyWindow('ratekey', 400, false)).toBeGreaterThan(2);
}, 90_000);

test('fairness: one hot key with 100 jobs does not starve 5 cold keys created after it', async () => {
  await configure('fair', { concurrency: 3, perKeyConcurrency: 3 });
  await createJobs(a, [
    ...Array.from({ length: 100 }, () => ({ queue: 'fair', concurrencyKey: 'hot' })),
    ...Array.from({ length: 10 }, (_, i) => ({ queue: 'fair', concurrencyKey: `cold${i % 5}` })),
  ]);
  const runner = await registerRunner(a, { name: 'fair', capacity: 3 });
  const order: string[] = [];
  while (order.length < 110) {
    const got = await claim(a, runner, { max: 3, wait: 1 });
    expect(got.length, 'a claim at the limit').toBeLessThanOrEqual(3);
    const { rows } = await sql<{ concurrency_key: string }>`
      SELECT concurrency_key FROM executions WHERE id = ANY(${got.map((e) => e.id)}::bigint[]) ORDER BY id
    `.execute(a.db);
    order.push(...rows.map((r) => r.concurrency_key));
    await completeBatch(
      a,
      runner,
      got.map((e) => ({ executionId: e.id, outcome: { status: 'SUCCEEDED', result: null } })),
    );
  }
  const lastCold = Math.max(...order.map((k, i) => (k.startsWith('cold') ? i : -1)));
  // Claimed by creation order alone, the cold keys' jobs would be the last 10 (positions 100-109). Taking turns,
  // they are all out within the first few claims.
  expect(lastCold).toBeLessThan(30);
  expect(order.filter((k) => k === 'hot')).toHaveLength(100);
}, 60_000);
