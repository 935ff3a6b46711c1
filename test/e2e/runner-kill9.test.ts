import type { Execution } from '@hourglass/contracts';
import { Cluster, FINAL_EXECUTION } from '@hourglass/testkit/cluster';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';

/**
 * A runner killed with -9 while it holds executions runs no shutdown code at all: its leases run out, the
 * reaper marks those executions TIMED_OUT, and the other runner retries them. Every job still succeeds, and
 * none is run again after it succeeded.
 */
const cluster = new Cluster();
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${cluster.tail(150)}`);
});
afterAll(() => cluster.stop());

beforeAll(async () => {
  await cluster.start({ HEARTBEAT_INTERVAL_MS: '500', LEASE_MS: '1500', REAPER_INTERVAL_MS: '200' });
});

test('the executions of a runner killed with -9 time out and are retried by the other runner', async () => {
  const env = { RUNNER_CONCURRENCY: '4' };
  const [a, b] = await Promise.all([
    cluster.startRunner('runner-a', env),
    cluster.startRunner('runner-b', env),
  ]);
  // Jobs far longer than the time between seeing them run and the kill, so A finishes none of them.
  const jobs = await cluster.createJobs(
    Array.from({ length: 8 }, () => ({
      type: 'sleep',
      payload: { durationMs: 2000 },
      backoff: { initialDelayMs: 100 },
    })),
  );
  // B takes at most 4 of the 8, so A comes to hold 4.
  const held = await cluster.until('runner A to hold 4 executions', async () => {
    const mine = (await cluster.activeExecutions()).filter((e) => e.runnerId === a.id);
    return mine.length === 4 ? mine : undefined;
  });
  expect(await a.process.kill9()).toBe('SIGKILL');

  const finished = await cluster.allTerminal(jobs.length);
  expect(finished.filter((j) => j.status !== 'SUCCEEDED')).toEqual([]);

  const byJob = new Map<number, Execution[]>();
  for (const j of jobs) byJob.set(j.id, await cluster.executions(j.id));
  for (const e of held) {
    const history = byJob.get(e.jobId)!;
    expect(
      history.map((x) => [x.attempt, x.status, x.runnerId]),
      `job ${e.jobId}`,
    ).toEqual([
      [1, 'TIMED_OUT', a.id],
      [2, 'SUCCEEDED', b.id],
    ]);
    expect(history[0]!.error).toMatch(/^lease expired/);
  }
  for (const [jobId, history] of byJob) {
    // Exactly one success, and it is the last attempt: nothing ran again after it.
    expect(
      history.filter((x) => x.status === 'SUCCEEDED').map((x) => x.attempt),
      `job ${jobId}`,
    ).toEqual([history.length]);
    expect(history.filter((x) => !FINAL_EXECUTION.has(x.status))).toEqual([]);
  }
  // The killed runner never reported anything: all it held ran out.
  const ofA = [...byJob.values()].flat().filter((x) => x.runnerId === a.id);
  expect(ofA.map((x) => x.status)).toEqual(held.map(() => 'TIMED_OUT'));
});
