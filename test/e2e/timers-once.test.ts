import { setTimeout as sleep } from 'node:timers/promises';
import { verify as recipeVerifies } from '@hourglass/testkit/signature-recipe';
import { expect, test } from 'vitest';
import {
  checkLateness,
  createTimer,
  expectEachDeliveredOnce,
  mapLimit,
  timerCluster,
  timersEnded,
} from './timer-checks.js';

/**
 * Once, at scale: 2 orchestrator replicas on one database and 3 runner processes (spread over them), 1,000
 * timers due over a few seconds, a receiver that answers 200. Every timer is delivered exactly once (1,000
 * distinct Idempotency-Keys, 1,000 deliveries), ends SUCCEEDED after 1 attempt, and no delivery comes early.
 * Every delivery carries a signature that the documented receiver recipe verifies.
 */

const SECRET = 'once-test-webhook-secret';
const PATH = '/once';
const t = timerCluster({
  orchestrators: 2,
  runners: ['runner-a', 'runner-b', 'runner-c'],
  runnerEnv: { WEBHOOK_SECRET: SECRET, RUNNER_CONCURRENCY: '50' },
});
const { cluster } = t;

test('1,000 timers with 2 orchestrators and 3 runners: each delivered exactly once, none early', async () => {
  const [o1, o2] = cluster.orchestrators.map((o) => o.url);
  const url = `${t.receiver.url}${PATH}`;

  // 800 as webhook jobs in two batches (one per replica), due uniformly over +3 s … +6 s to the millisecond.
  const t0 = Date.now();
  const batch = (from: number) =>
    Array.from({ length: 400 }, (_, i) => ({
      type: 'webhook',
      payload: { url, payload: { n: from + i } },
      runAt: new Date(t0 + 3_000 + Math.floor(((from + i) / 800) * 3_000)).toISOString(),
    }));
  const created = await Promise.all(
    [batch(0), batch(400)].map(async (jobs, i) => {
      const { status, body } = await cluster.request<{ jobs: { id: number }[] }>(
        'POST',
        '/jobs/batch',
        { jobs },
        { via: [o1, o2][i] },
      );
      expect(status, JSON.stringify(body)).toBe(201);
      return body.jobs.map((j) => j.id);
    }),
  );
  // 200 through POST /timers, alternating replicas, due in 3 … 6 s.
  const timerIds = await mapLimit(
    Array.from({ length: 200 }, (_, i) => i),
    16,
    async (i) => {
      const t = await createTimer(
        cluster,
        { seconds: 3 + (i % 4), url, payload: { n: 800 + i } },
        [o1, o2][i % 2],
      );
      expect(t.time_left).toBe(3 + (i % 4));
      return t.id;
    },
  );
  const ids = [...created.flat(), ...timerIds];
  expect(new Set(ids).size).toBe(1000);
  console.log(`[timers-once] 1,000 timers created in ${Date.now() - t0} ms`);

  await t.receiver.waitFor(1000, PATH, 25_000);
  await timersEnded(cluster, ids);
  // Room for a late duplicate to show up before counting.
  await sleep(500);

  const timers = await expectEachDeliveredOnce(cluster, t.receiver, ids, PATH);
  checkLateness('timers-once', t.receiver.at(PATH), timers);

  const unverified = t.receiver
    .at(PATH)
    .filter((d) => !recipeVerifies(SECRET, d.rawBody, String(d.headers['hourglass-signature'])));
  expect(unverified, 'deliveries whose signature the recipe refuses').toEqual([]);
  const payloads = t.receiver.at(PATH).map((d) => (d.body as { payload: { n: number } }).payload.n);
  expect(new Set(payloads).size).toBe(1000);
});
