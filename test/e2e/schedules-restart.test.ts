import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from '@hourglass/contracts';
import { expect, test } from 'vitest';
import {
  cancelJob,
  createJob,
  type ExecutionRow,
  expectEverySecond,
  expectOneExecutionEach,
  type Occurrence,
  scheduleCluster,
} from './schedule-checks.js';

/**
 * Downtime: three every-second cron jobs, one per catch-up policy, run on 2 orchestrators and 2 runners; then
 * every process is killed with -9 for 9 s and started again on the same database. The first plan after the
 * restart holds every occurrence of the gap, and:
 * - fire_once: exactly one of them runs (the latest); the others are skipped with the catch-up reason;
 * - fire_all: every one of them runs, once;
 * - skip: none that was missed runs (an occurrence less than MISSED_AFTER_MS = 5 s late when planned is late,
 *   not missed, and runs under every policy).
 * Every second stays accounted for (one occurrence each, none twice), and normal every-second runs resume.
 */

const DOWN_MS = 9_000;
const MISSED_AFTER_MS = 5_000;
const t = scheduleCluster();
const { cluster } = t;

type Policy = 'fire_once' | 'fire_all' | 'skip';

/** Waits until each job has `n` successful runs of occurrences due after `after`. */
async function runsAfter(jobs: Job[], after: number, n: number) {
  for (const job of jobs) {
    await cluster.until(`job ${job.id}: ${n} runs after ${new Date(after).toISOString()}`, async () => {
      const execs = await t.db.executions(job.id);
      return execs.filter((e) => e.scheduledFor > after && e.status === 'SUCCEEDED').length >= n
        ? true
        : undefined;
    });
  }
}

test('stopping every process across due occurrences: on start, each catch-up policy holds', async () => {
  const policies: Policy[] = ['fire_once', 'fire_all', 'skip'];
  // Overlap `allow`: an execution a runner was killed in the middle of stays RUNNING until its lease ends, and
  // must not make the catch-up runs wait or skip (overlap has tests of its own).
  const jobs = await Promise.all(
    policies.map((catchUpPolicy) =>
      createJob(cluster, {
        type: 'echo',
        payload: catchUpPolicy,
        scheduleExpression: '* * * * * *',
        catchUpPolicy,
        overlapPolicy: 'allow',
        maxAttempts: 1,
      }),
    ),
  );
  const created = await t.db.now();
  await runsAfter(jobs, created, 2);

  await cluster.killOrchestrators();
  await cluster.killRunners();
  const killedAt = await t.db.now();
  await sleep(DOWN_MS);
  await cluster.restartOrchestrators();
  await cluster.restartRunners();
  const restartedAt = await t.db.now();
  console.log(`[schedules-restart] down for ${Math.round(restartedAt - killedAt)} ms`);
  // Normal runs again: two occurrences due after the restart have run.
  await runsAfter(jobs, restartedAt, 2);
  // Judge what was due up to a second ago; the schedules go on meanwhile.
  const cutoff = (await t.db.now()) - 1_000;

  for (const [i, job] of jobs.entries()) {
    const policy = policies[i]!;
    const what = `${policy} job ${job.id}`;
    const executions = await cluster.until(`${what}: runs due by the cutoff to finish`, async () => {
      const xs = (await t.db.executions(job.id)).filter((x) => x.scheduledFor <= cutoff);
      // A run cut off by the kill stays RUNNING (its lease outlives the test); every other one finishes.
      const open = xs.filter(
        (x) => x.status === 'PENDING' || (x.status === 'RUNNING' && x.scheduledFor > killedAt),
      );
      return open.length === 0 ? xs : undefined;
    });
    const occurrences = (await t.db.occurrences(job.id)).filter((o) => o.at <= cutoff);

    // Every second from the first run to the cutoff has one occurrence, run or skipped; each run once.
    expect(occurrences[0]?.at, what).toBe(Date.parse(job.nextRunAt!));
    expectEverySecond(occurrences, what);
    const byTime = expectOneExecutionEach(occurrences, executions, what);

    // Before the kill: every occurrence ran (the last one may have been cut off by the kill).
    const before = occurrences.filter((o) => o.createdAt < killedAt);
    expect(before.length, what).toBeGreaterThanOrEqual(2);
    expect(before.every((o) => o.status === 'CREATED')).toBe(true);
    const unfinished = before.filter((o) => byTime.get(o.at)?.status !== 'SUCCEEDED');
    expect(unfinished.length, `${what}: runs cut off by the kill`).toBeLessThanOrEqual(1);

    // The gap: everything planned by the first plan after the restart, i.e. every second from the one after
    // the last occurrence before the kill up to that plan's time.
    const firstPlan = Math.min(...occurrences.filter((o) => o.createdAt > killedAt).map((o) => o.createdAt));
    const gap = occurrences.filter((o) => o.createdAt === firstPlan);
    expect(gap[0]!.at, what).toBe(before.at(-1)!.at + 1_000);
    expect(gap.at(-1)!.at, what).toBeGreaterThan(firstPlan - 1_000);
    expect(gap.length, `${what}: the gap spans the downtime`).toBeGreaterThanOrEqual(DOWN_MS / 1_000);
    const missed = gap.filter((o) => o.at < firstPlan - MISSED_AFTER_MS);
    const late = gap.filter((o) => o.at >= firstPlan - MISSED_AFTER_MS);
    expect(missed.length, what).toBeGreaterThanOrEqual(3);
    const ran = (os: Occurrence[]) => os.filter((o) => o.status === 'CREATED');
    const succeeded = (os: Occurrence[]) =>
      os.map((o) => byTime.get(o.at)).filter((e): e is ExecutionRow => e?.status === 'SUCCEEDED');

    if (policy === 'fire_once') {
      // One catch-up run for the whole gap: the latest occurrence; the others skipped, saying why.
      expect(
        ran(gap).map((o) => o.at),
        what,
      ).toEqual([gap.at(-1)!.at]);
      expect(succeeded(gap), what).toHaveLength(1);
      for (const o of gap.slice(0, -1)) {
        expect(o, what).toMatchObject({
          status: 'SKIPPED',
          reason: 'missed while the system was down (catch-up: fire_once)',
          executionId: null,
        });
      }
    } else if (policy === 'fire_all') {
      // Every missed second ran, once, to success.
      expect(ran(gap), what).toHaveLength(gap.length);
      expect(succeeded(gap), what).toHaveLength(gap.length);
    } else {
      // Nothing missed ran; the occurrences only a few seconds late did.
      for (const o of missed) {
        expect(o, what).toMatchObject({
          status: 'SKIPPED',
          reason: 'missed while the system was down (catch-up: skip)',
          executionId: null,
        });
      }
      expect(ran(late), what).toHaveLength(late.length);
      expect(succeeded(late), what).toHaveLength(late.length);
    }

    // After the catch-up, normal every-second runs: each occurrence created on time and run once.
    const after = occurrences.filter((o) => o.createdAt > firstPlan);
    expect(after.length, what).toBeGreaterThanOrEqual(1);
    expect(after.every((o) => o.status === 'CREATED')).toBe(true);
    expect(succeeded(after), what).toHaveLength(after.length);
    console.log(
      `[schedules-restart] ${what}: gap of ${gap.length} (${missed.length} missed), ${ran(gap).length} run; ${after.length} normal runs after`,
    );
  }
  for (const job of jobs) await cancelJob(cluster, job.id);
});
