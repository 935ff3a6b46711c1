import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import {
  checkLateness,
  createTimer,
  expectEachDeliveredOnce,
  getTimer,
  mapLimit,
  timerCluster,
  timersEnded,
} from './timer-checks.js';

/**
 * On time: 250 timers due over the next few seconds, 1 orchestrator and 2 runner processes. None fires early,
 * all within a sanity bound; lateness p50/p99/max is printed (the benchmark holds the speed target). And a
 * timer's time_left counts down to 0.
 */

const t = timerCluster({ runners: ['runner-a', 'runner-b'], runnerEnv: { RUNNER_CONCURRENCY: '20' } });
const { cluster } = t;

test('250 timers due over a few seconds fire once each, none early', async () => {
  const url = `${t.receiver.url}/on-time`;
  // 200 due uniformly over +2 s … +5 s to the millisecond, and 50 through POST /timers due in 2 … 4 s.
  const t0 = Date.now();
  const jobs = await cluster.createJobs(
    Array.from({ length: 200 }, (_, i) => ({
      type: 'webhook',
      payload: { url },
      runAt: new Date(t0 + 2_000 + Math.floor((i / 200) * 3_000)).toISOString(),
    })),
  );
  const timers = await mapLimit(
    Array.from({ length: 50 }, (_, i) => i),
    8,
    (i) => createTimer(cluster, { seconds: 2 + (i % 3), url }),
  );
  const ids = [...jobs.map((j) => j.id), ...timers.map((t) => t.id)];

  await t.receiver.waitFor(ids.length, '/on-time', 20_000);
  await timersEnded(cluster, ids);
  await sleep(300);
  const read = await expectEachDeliveredOnce(cluster, t.receiver, ids, '/on-time');
  checkLateness('timers-on-time', t.receiver.at('/on-time'), read);
});

test('time_left counts down and reaches 0 once due', async () => {
  const created = await createTimer(cluster, { seconds: 3, url: `${t.receiver.url}/countdown` });
  expect(created.time_left).toBe(3);

  const first = await getTimer(cluster, created.id);
  expect([3, 2]).toContain(first.time_left);
  expect(first).toMatchObject({ status: 'SCHEDULED', attempts: 0, fired_at: null });
  const fireAt = Date.parse(first.fire_at);

  await sleep(1_200);
  const later = await getTimer(cluster, created.id);
  expect(later.time_left).toBeLessThan(first.time_left);
  expect(later.time_left).toBeGreaterThan(0);
  // Whole seconds until fire_at, rounded up.
  expect(Math.abs(later.time_left - Math.ceil((fireAt - Date.now()) / 1000))).toBeLessThanOrEqual(1);

  const due = await cluster.until('time_left to reach 0', async () => {
    const t = await getTimer(cluster, created.id);
    return t.time_left === 0 ? { t, at: Date.now() } : undefined;
  });
  expect(due.at, 'time_left is 0 only once due').toBeGreaterThanOrEqual(fireAt - 10);

  const [delivery] = await t.receiver.waitFor(1, '/countdown', 10_000);
  expect(delivery!.key).toBe(`timer-${created.id}`);
  const fired = await cluster.until('the timer to be recorded as fired', async () => {
    const t = await getTimer(cluster, created.id);
    return t.status === 'SUCCEEDED' ? t : undefined;
  });
  expect(fired).toMatchObject({ time_left: 0, attempts: 1, last_error: null });
  expect(Date.parse(fired.fired_at!)).toBeGreaterThanOrEqual(fireAt);
  // And it stays 0 well past due (never negative).
  await sleep(Math.max(0, fireAt + 1_500 - Date.now()));
  expect((await getTimer(cluster, created.id)).time_left).toBe(0);
});
