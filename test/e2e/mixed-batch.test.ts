import type { DeadLetter, Execution } from '@hourglass/contracts';
import { Cluster, FINAL_EXECUTION } from '@hourglass/testkit/cluster';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';

/**
 * A real orchestrator process and two real runner processes on loopback run a mixed batch to the expected
 * final states: what succeeds runs once, what fails a few times is retried until it succeeds, what always
 * fails stops after maxAttempts and is dead-lettered, and the work is shared by both runners.
 */
const cluster = new Cluster();
let runnerIds: string[];

beforeAll(async () => {
  await cluster.start({ HEARTBEAT_INTERVAL_MS: '500', LEASE_MS: '2000', REAPER_INTERVAL_MS: '200' });
  const runners = await Promise.all(
    ['runner-a', 'runner-b'].map((name) => cluster.startRunner(name, { RUNNER_CONCURRENCY: '8' })),
  );
  runnerIds = runners.map((r) => r.id);
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${cluster.tail(150)}`);
});
afterAll(() => cluster.stop());

type Kind = 'succeeds' | 'flaky' | 'always-fails';
const fastRetries = { initialDelayMs: 100 };

test('a mixed batch reaches the expected final states, run by both runners', async () => {
  const plan: { kind: Kind; failAttempts: number; job: Record<string, unknown> }[] = [];
  for (let i = 0; i < 10; i++) {
    plan.push({ kind: 'succeeds', failAttempts: 0, job: { type: 'echo', payload: { i } } });
    plan.push({ kind: 'succeeds', failAttempts: 0, job: { type: 'noop' } });
    plan.push({ kind: 'succeeds', failAttempts: 0, job: { type: 'sleep', payload: { durationMs: 20 } } });
    const failAttempts = 1 + (i % 2);
    plan.push({
      kind: 'flaky',
      failAttempts,
      job: { type: 'sleep', payload: { durationMs: 20, failAttempts }, backoff: fastRetries },
    });
  }
  for (let i = 0; i < 5; i++) {
    plan.push({
      kind: 'always-fails',
      failAttempts: 99,
      job: {
        type: 'sleep',
        payload: { durationMs: 10, failAttempts: 99 },
        maxAttempts: 3,
        backoff: fastRetries,
      },
    });
  }

  const created = await cluster.createJobs(plan.map((p) => p.job));
  expect(created.map((j) => j.type)).toEqual(plan.map((p) => p.job.type));

  const finished = new Map((await cluster.allTerminal(plan.length)).map((j) => [j.id, j]));
  const all: Execution[] = [];
  for (const [i, p] of plan.entries()) {
    const id = created[i]!.id;
    const job = finished.get(id)!;
    const executions = await cluster.executions(id);
    all.push(...executions);
    const label = `job ${id} (${p.kind}, ${JSON.stringify(p.job)})`;
    if (p.kind === 'succeeds') {
      expect(job.status, label).toBe('SUCCEEDED');
      expect(
        executions.map((e) => e.status),
        label,
      ).toEqual(['SUCCEEDED']);
      if (p.job.type === 'echo') expect(executions[0]!.result, label).toEqual(p.job.payload);
    } else if (p.kind === 'flaky') {
      expect(job.status, label).toBe('SUCCEEDED');
      expect(
        executions.map((e) => [e.attempt, e.status]),
        label,
      ).toEqual([
        ...Array.from({ length: p.failAttempts }, (_, k) => [k + 1, 'FAILED']),
        [p.failAttempts + 1, 'SUCCEEDED'],
      ]);
      for (const e of executions.slice(0, -1))
        expect(e.error).toBe(`simulated failure on attempt ${e.attempt}`);
    } else {
      expect(job.status, label).toBe('FAILED');
      expect(
        executions.map((e) => [e.attempt, e.status]),
        label,
      ).toEqual([
        [1, 'FAILED'],
        [2, 'FAILED'],
        [3, 'FAILED'],
      ]);
    }
  }

  // Dead letters: exactly the always-failing jobs, each after its 3 attempts.
  const { body: dead } = await cluster.get<{ items: DeadLetter[] }>('/dead-letters?limit=500');
  const alwaysFailing = created.filter((_, i) => plan[i]!.kind === 'always-fails').map((j) => j.id);
  expect(dead.items.map((d) => d.jobId).sort((a, b) => a - b)).toEqual(alwaysFailing.sort((a, b) => a - b));
  for (const d of dead.items) expect(d.attempts).toBe(3);

  // Nothing left behind, and both runner processes did part of the work.
  expect(all.filter((e) => !FINAL_EXECUTION.has(e.status))).toEqual([]);
  expect(await cluster.activeExecutions()).toEqual([]);
  expect(new Set(all.map((e) => e.runnerId))).toEqual(new Set(runnerIds));
});
