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
 * Restarts of the orchestrators alone: both replicas are killed with -9 while the runners keep running (their
 * long-polls, heartbeats and claims fail meanwhile). Timers that expire during the outage fire once the
 * replicas are back on the same ports and database; timers due after the restart fire on time. Each exactly
 * once, none early.
 */

const PATH = '/restart-orchestrators';
const t = timerCluster({ orchestrators: 2, runners: ['runner-a', 'runner-b', 'runner-c'] });
const { cluster } = t;

test('with the runners still up, timers due during an orchestrator outage fire once when it ends', async () => {
  const [o1, o2] = cluster.orchestrators.map((o) => o.url);
  const url = `${t.receiver.url}${PATH}`;
  const t0 = Date.now();
  // Due during the outage (+2.5 s … +5 s, and 3 … 5 s from creation) and around the restart (+9 s … +11 s).
  const batchIds = await createWebhookJobs(
    cluster,
    url,
    Array.from(
      { length: 60 },
      (_, i) => t0 + (i < 40 ? 2_500 + Math.floor((i / 39) * 2_500) : 9_000 + (i - 40) * 100),
    ),
    o1,
  );
  const timers = await mapLimit(
    Array.from({ length: 20 }, (_, i) => i),
    8,
    (i) => createTimer(cluster, { seconds: i < 12 ? 3 + (i % 3) : 10, url }, [o1, o2][i % 2]),
  );
  const ids = [...batchIds, ...timers.map((t) => t.id)];

  await cluster.killOrchestrators();
  expect(Date.now() - t0, 'the kill came before the first timer was due').toBeLessThan(2_400);
  const runnersAlive = () => cluster.runners.every((r) => r.process.child.exitCode === null);

  // Down until every outage timer (created by +2.4 s, due 5 s later at most) is past due.
  await sleep(Math.max(0, t0 + 7_600 - Date.now()));
  expect(t.receiver.at(PATH), 'nothing fires while no orchestrator is up').toEqual([]);
  expect(runnersAlive(), 'the runners rode out the outage').toBe(true);

  await cluster.restartOrchestrators();
  const backAt = Date.now();
  await t.receiver.waitFor(ids.length, PATH, 60_000);
  const received = t.receiver.at(PATH).map((d) => d.receivedAt);
  console.log(
    `[timers-restart-orchestrators] orchestrators back at +${backAt - t0} ms; deliveries from +${Math.min(...received) - t0} to +${Math.max(...received) - t0} ms`,
  );
  await timersEnded(cluster, ids);
  await sleep(500);

  expect(runnersAlive()).toBe(true);
  const read = await expectEachDeliveredOnce(cluster, t.receiver, ids, PATH);
  checkLateness('timers-restart-orchestrators (outage timers late by it)', t.receiver.at(PATH), read, {
    availableFrom: backAt,
  });
  // The runners that were up all along did the work: no new runner registered.
  const { body: runners } = await cluster.get<{ items: { id: string }[] }>('/runners?includeOffline=true');
  expect(new Set(runners.items.map((r) => r.id))).toEqual(new Set(cluster.runners.map((r) => r.id)));
}, 150_000);
