import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import {
  checkLateness,
  createTimer,
  createWebhookJobs,
  expectEachDeliveredOnce,
  mapLimit,
  timerCluster,
  timersEnded,
} from './timer-checks.js';

/**
 * Restarts: timers due at +2.5 s … +8 s are created, then both orchestrator replicas and both runners are killed
 * with -9 before any is due. Everything stays down until every timer is past due, then starts again on the
 * same database. Every timer fires once after the restart: none lost, none twice, none early.
 */

const PATH = '/restart';
const t = timerCluster({ orchestrators: 2, runners: ['runner-a', 'runner-b'] });
const { cluster } = t;

test('timers that expire while every process is down fire once each after the restart', async () => {
  const [o1, o2] = cluster.orchestrators.map((o) => o.url);
  const url = `${t.receiver.url}${PATH}`;
  const t0 = Date.now();
  // 60 through the batch API, due uniformly over +2.5 s … +8 s; 30 through POST /timers, 3 … 8 s (5 per second).
  const batchIds = await createWebhookJobs(
    cluster,
    url,
    Array.from({ length: 60 }, (_, i) => t0 + 2_500 + Math.floor((i / 59) * 5_500)),
    o2,
  );
  const timers = await mapLimit(
    Array.from({ length: 30 }, (_, i) => i),
    8,
    (i) => createTimer(cluster, { seconds: 3 + (i % 6), url }, [o1, o2][i % 2]),
  );
  const ids = [...batchIds, ...timers.map((t) => t.id)];

  await Promise.all([cluster.killOrchestrators(), cluster.killRunners()]);
  // Everything died before the first timer was due, so nothing was in flight.
  expect(Date.now() - t0, 'the kill came before the first timer was due').toBeLessThan(2_400);
  expect(t.receiver.at(PATH)).toEqual([]);

  // Down until the last timer (created by +2.4 s, due 8 s later at most) is past due.
  await sleep(Math.max(0, t0 + 11_000 - Date.now()));
  expect(t.receiver.at(PATH), 'nothing fires while everything is down').toEqual([]);

  await cluster.restartOrchestrators();
  await cluster.restartRunners();
  const backAt = Date.now();
  await t.receiver.waitFor(ids.length, PATH, 60_000);
  await timersEnded(cluster, ids);
  await sleep(500);

  const read = await expectEachDeliveredOnce(cluster, t.receiver, ids, PATH);
  // All were due during the outage, so all are late by it; the point is that none is early.
  checkLateness('timers-restart (late by the outage)', t.receiver.at(PATH), read, { availableFrom: backAt });
}, 150_000);
