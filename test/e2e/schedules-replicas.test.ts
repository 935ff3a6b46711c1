import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import {
  cancelJob,
  createJob,
  expectEverySecond,
  expectOneExecutionEach,
  scheduleCluster,
} from './schedule-checks.js';

/**
 * Two orchestrator processes on ONE database, each running its scheduler loop, and two runner processes (one
 * per orchestrator). An every-second cron job and a 1 s interval job run for 11 s: every second has exactly one
 * occurrence (none missing between the first and the last, none doubled), each occurrence exactly one
 * execution, run once (1 attempt) to success.
 */

const RUN_MS = 11_000;
const t = scheduleCluster();
const { cluster } = t;

test('the runners are spread over both replicas', () => {
  expect(new Set(cluster.runners.map((r) => r.orchestratorUrl)).size).toBe(2);
});

test('an every-second cron and a 1 s interval with 2 orchestrators: one occurrence per second, each run once', async () => {
  const [o1, o2] = cluster.orchestrators.map((o) => o.url);
  // Overlap `allow`: the test is about occurrences being made once, not about a slow runner skipping some.
  const cron = await createJob(
    cluster,
    { type: 'echo', payload: 'cron', scheduleExpression: '* * * * * *', overlapPolicy: 'allow' },
    o1,
  );
  const every = await createJob(
    cluster,
    { type: 'echo', payload: 'interval', intervalSeconds: 1, overlapPolicy: 'allow' },
    o2,
  );
  const started = await t.db.now();
  await sleep(RUN_MS);
  // Judge what was due up to a second ago (its runs have had time to finish); the schedules go on meanwhile.
  const cutoff = (await t.db.now()) - 1_000;

  for (const job of [cron, every]) {
    const what = `${job.kind} job ${job.id}`;
    const executions = await cluster.until(
      `${what}: the executions due by the cutoff to finish`,
      async () => {
        const xs = (await t.db.executions(job.id)).filter((x) => x.scheduledFor <= cutoff);
        return xs.every((x) => x.status !== 'PENDING' && x.status !== 'RUNNING') ? xs : undefined;
      },
    );
    const occurrences = (await t.db.occurrences(job.id)).filter((o) => o.at <= cutoff);

    // Starts at the job's first run and goes on until it was cancelled.
    expect(occurrences[0]?.at, what).toBe(Date.parse(job.nextRunAt!));
    expect(occurrences.at(-1)!.at, what).toBeGreaterThan(cutoff - 1_000);
    expect(occurrences.length, what).toBeGreaterThanOrEqual(Math.floor((cutoff - started) / 1_000) - 1);
    expect(occurrences.length, what).toBeGreaterThanOrEqual(9);
    expectEverySecond(occurrences, what);
    if (job.kind === 'cron') expect(occurrences.every((o) => o.at % 1_000 === 0)).toBe(true);

    expect(
      occurrences.filter((o) => o.status !== 'CREATED'),
      `${what}: occurrences not run`,
    ).toEqual([]);
    expectOneExecutionEach(occurrences, executions, what);
    expect(
      executions.filter((e) => e.status !== 'SUCCEEDED').map((e) => `${e.id} ${e.status}`),
      `${what}: executions that did not succeed`,
    ).toEqual([]);
    const runners = new Set(executions.map((e) => e.runnerId));
    console.log(
      `[schedules-replicas] ${what}: ${occurrences.length} occurrences, ${executions.length} executions, on ${runners.size} runner(s)`,
    );
  }
  await cancelJob(cluster, cron.id);
  await cancelJob(cluster, every.id);
});
