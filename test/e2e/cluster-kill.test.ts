import { Cluster } from '@hourglass/testkit/cluster';
import { afterEach, expect, test } from 'vitest';

/**
 * The local cluster topology (2 orchestrators on one database, 3 runners that know both): kill -9 one
 * orchestrator and one runner mid-run, and every job still completes, exactly once.
 */
let cluster: Cluster;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${cluster.tail(400)}`);
  await cluster.stop();
});

test('kill -9 of an orchestrator and a runner mid-run: every job completes once', async () => {
  cluster = new Cluster();
  await cluster.start(
    { HEARTBEAT_INTERVAL_MS: '500', LEASE_MS: '2000', REAPER_INTERVAL_MS: '200' },
    { orchestrators: 2 },
  );
  const [o1, o2] = cluster.orchestrators;
  // Each runner lists both replicas, starting with a different one: it fails over when its first dies.
  const urls = (first: number) =>
    [cluster.orchestrators[first]!.url, cluster.orchestrators[1 - first]!.url].join(',');
  const runners = [];
  for (let i = 0; i < 3; i++) {
    runners.push(
      await cluster.startRunner(`runner-${i + 1}`, {
        RUNNER_CONCURRENCY: '4',
        ORCHESTRATOR_URL: urls(i % 2),
        // Short long-polls, so that a stall cannot outlast the test. Once, in a loaded CI run, claims stalled after
        // the kill until the polls ended: a runner marked OFFLINE during its failover slept its whole long-poll
        // (issue 10, defect 14; test/e2e/orchestrator-kill-claims.test.ts).
        POLL_WAIT_SECONDS: '5',
      }),
    );
  }
  const jobs = await cluster.createJobs(
    Array.from({ length: 150 }, (_, i) => ({
      type: 'sleep',
      payload: { durationMs: 100 + (i % 5) * 20 },
      backoff: { initialDelayMs: 100 },
    })),
  );

  // Mid-run: some done, some running, most still pending.
  await cluster.until('a few jobs to finish', async () => {
    const done = (await cluster.jobs()).filter((j) => j.status === 'SUCCEEDED').length;
    return done >= 10 ? done : undefined;
  });
  await Promise.all([o1!.process.kill9(), runners[0]!.process.kill9()]);
  cluster.url = o2!.url;

  const finished = await cluster.allTerminal(jobs.length, 60_000);
  expect(finished.filter((j) => j.status !== 'SUCCEEDED').map((j) => [j.id, j.status])).toEqual([]);
  for (const job of jobs) {
    const history = await cluster.executions(job.id);
    // Once: one success, and it is the last attempt; anything before it was cut short by the kills.
    expect(
      history.filter((e) => e.status === 'SUCCEEDED'),
      `job ${job.id}`,
    ).toHaveLength(1);
    expect(history.at(-1)!.status, `job ${job.id}`).toBe('SUCCEEDED');
    expect(history.every((e) => ['SUCCEEDED', 'TIMED_OUT', 'FAILED'].includes(e.status))).toBe(true);
  }
});
