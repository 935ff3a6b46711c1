import type { Execution, Runner } from '@hourglass/contracts';
import { Cluster, FINAL_EXECUTION, type RunnerHandle } from '@hourglass/testkit/cluster';
import { afterEach, expect, test } from 'vitest';

/**
 * SIGTERM on a busy runner loses nothing: it stops claiming, finishes what it holds within its grace period
 * (or, past it, aborts and reports those attempts FAILED so they are retried elsewhere), deregisters and exits 0.
 */
let cluster: Cluster;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${cluster.tail(150)}`);
  await cluster.stop();
});

// A lease lapse would show as TIMED_OUT; these are long enough that a loaded machine does not cause one.
const ORCHESTRATOR_ENV = { HEARTBEAT_INTERVAL_MS: '500', LEASE_MS: '4000', REAPER_INTERVAL_MS: '200' };
const DEREGISTERED = 'runner deregistered while the execution was running';

async function startCluster(runnerEnv: Record<string, string>) {
  cluster = new Cluster();
  await cluster.start(ORCHESTRATOR_ENV);
  const [a, b] = await Promise.all([
    cluster.startRunner('runner-a', runnerEnv),
    cluster.startRunner('runner-b', runnerEnv),
  ]);
  return { a, b };
}

/**
 * Waits until runner `r` holds `count` running executions and has started their handlers (its log says so); answers
 * them. Claimed in the database is not enough: a claim answer still on its way when SIGTERM comes is never received,
 * and goes back to the queue at deregistration instead (seen on a busy CI machine).
 */
function runningOn(r: RunnerHandle, count: number): Promise<Execution[]> {
  return cluster.until(`runner ${r.name} to run ${count} executions`, async () => {
    const mine = (await cluster.activeExecutions()).filter((e) => e.runnerId === r.id);
    if (mine.length < count) return undefined;
    const started = new Set(
      cluster.logs
        .filter((l) => l.startsWith(`[${r.name}] `) && l.includes('"execution started"'))
        .map((l) => (JSON.parse(l.slice(l.indexOf('{'))) as { executionId: number }).executionId),
    );
    return mine.every((e) => started.has(e.id)) ? mine : undefined;
  });
}

async function allExecutions(jobIds: number[]): Promise<Map<number, Execution[]>> {
  const byJob = new Map<number, Execution[]>();
  for (const id of jobIds) byJob.set(id, await cluster.executions(id));
  return byJob;
}

async function runnerStatus(id: string): Promise<string | undefined> {
  const { body } = await cluster.get<{ items: Runner[] }>('/runners?includeOffline=true');
  return body.items.find((r) => r.id === id)?.status;
}

test('a runner stopped with SIGTERM finishes its in-flight work, deregisters and exits 0', async () => {
  const { a, b } = await startCluster({ RUNNER_CONCURRENCY: '4', SHUTDOWN_GRACE_MS: '5000' });
  const jobs = await cluster.createJobs(
    Array.from({ length: 40 }, () => ({
      type: 'sleep',
      payload: { durationMs: 400 },
      backoff: { initialDelayMs: 100 },
    })),
  );

  const inFlight = await runningOn(a, 4);
  expect(await a.process.stop('SIGTERM', 20_000)).toBe(0);

  // What it was running when told to stop, it finished and reported before exiting.
  for (const e of inFlight) {
    const now = (await cluster.get<Execution>(`/executions/${e.id}`)).body;
    expect([now.status, now.runnerId], `execution ${e.id}`).toEqual(['SUCCEEDED', a.id]);
  }
  expect(await runnerStatus(a.id)).toBe('OFFLINE');

  const finished = await cluster.allTerminal(jobs.length);
  expect(finished.filter((j) => j.status !== 'SUCCEEDED')).toEqual([]);
  const executions = [...(await allExecutions(jobs.map((j) => j.id))).values()].flat();
  expect(executions.filter((e) => !FINAL_EXECUTION.has(e.status))).toEqual([]);
  // No lease ran out (the stopped runner left nothing for the reaper), and no attempt was spent: a claim
  // answered just as it hung up goes back to PENDING at deregistration instead of failing.
  expect(executions.filter((e) => e.status === 'TIMED_OUT' || e.status === 'FAILED')).toEqual([]);
  expect(executions.filter((e) => e.error === DEREGISTERED)).toEqual([]);
  expect(await runnerStatus(b.id)).toBe('ONLINE');
});

test('past a short grace period the aborted executions are reported FAILED and retried by the other runner', async () => {
  const { a, b } = await startCluster({ RUNNER_CONCURRENCY: '4', SHUTDOWN_GRACE_MS: '200' });
  const jobs = await cluster.createJobs(
    Array.from({ length: 8 }, () => ({
      type: 'sleep',
      payload: { durationMs: 2000 },
      backoff: { initialDelayMs: 100 },
    })),
  );

  const inFlight = await runningOn(a, 4);
  expect(await a.process.stop('SIGTERM', 20_000)).toBe(0);
  expect(await runnerStatus(a.id)).toBe('OFFLINE');

  const finished = await cluster.allTerminal(jobs.length);
  expect(finished.filter((j) => j.status !== 'SUCCEEDED')).toEqual([]);
  const byJob = await allExecutions(jobs.map((j) => j.id));
  for (const e of inFlight) {
    const history = byJob.get(e.jobId)!;
    // The attempt it could not finish in time: reported by the runner itself, not left to the lease reaper.
    expect(
      history.map((x) => [x.attempt, x.status, x.runnerId, x.error]),
      `job ${e.jobId}`,
    ).toEqual([
      [1, 'FAILED', a.id, 'runner shut down before the handler finished'],
      [2, 'SUCCEEDED', b.id, null],
    ]);
  }
  const executions = [...byJob.values()].flat();
  expect(executions.filter((e) => !FINAL_EXECUTION.has(e.status))).toEqual([]);
  expect(executions.filter((e) => e.status === 'TIMED_OUT')).toEqual([]);
});
