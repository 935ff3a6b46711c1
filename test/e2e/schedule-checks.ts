import type { Job } from '@hourglass/contracts';
import { Cluster } from '@hourglass/testkit/cluster';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/**
 * Shared steps of the schedule end-to-end tests (schedules-*.test.ts): reading occurrences and executions
 * straight from the cluster's database (the API shows only a job's last occurrence), on the database's clock.
 */

export interface Occurrence {
  jobId: number;
  at: number;
  status: 'CREATED' | 'SKIPPED' | 'QUEUED';
  reason: string | null;
  executionId: number | null;
  /** now() of the transaction that planned it: occurrences planned together share it. */
  createdAt: number;
}

export interface ExecutionRow {
  id: number;
  jobId: number;
  status: string;
  attempt: number;
  scheduledFor: number;
  runnerId: string | null;
}

export class ScheduleDb {
  private constructor(private readonly pool: pg.Pool) {}

  static open(cluster: Cluster): ScheduleDb {
    const url = cluster.orchestrators[0]?.env.DATABASE_URL;
    if (!url) throw new Error('start the cluster first');
    return new ScheduleDb(new pg.Pool({ connectionString: url, max: 2 }));
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /** The database's clock, which the schedulers go by. */
  async now(): Promise<number> {
    const { rows } = await this.pool.query<{ ms: number }>(
      'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms',
    );
    return rows[0]!.ms;
  }

  /**
   * A job's occurrences, oldest first, one by one: a row standing for a run of skipped occurrences is spread
   * evenly from its first to its last (the schedules of these tests are even grids: every second).
   */
  async occurrences(jobId: number): Promise<Occurrence[]> {
    const { rows } = await this.pool.query(
      `SELECT job_id::int AS "jobId", (extract(epoch FROM scheduled_for) * 1000)::float8 AS at, status, reason,
              execution_id::int AS "executionId", (extract(epoch FROM created_at) * 1000)::float8 AS "createdAt",
              occurrence_count AS n,
              (extract(epoch FROM coalesce(last_scheduled_for, scheduled_for)) * 1000)::float8 AS "lastAt"
       FROM occurrences WHERE job_id = $1 ORDER BY scheduled_for`,
      [jobId],
    );
    return rows.flatMap(({ n, lastAt, ...r }) => {
      const step = n > 1 ? (lastAt - r.at) / (n - 1) : 0;
      return Array.from({ length: n }, (_, i) => ({ ...r, at: Math.round(r.at + i * step) }));
    });
  }

  /** A job's executions, in creation order. */
  async executions(jobId: number): Promise<ExecutionRow[]> {
    const { rows } = await this.pool.query(
      `SELECT id::int AS id, job_id::int AS "jobId", status, attempt,
              (extract(epoch FROM scheduled_for) * 1000)::float8 AS "scheduledFor", runner_id::text AS "runnerId"
       FROM executions WHERE job_id = $1 ORDER BY id`,
      [jobId],
    );
    return rows.map((r) => ({ ...r, scheduledFor: Math.round(r.scheduledFor) }));
  }
}

/** Creates one job through `via` (an orchestrator's base URL); expects 201. */
export async function createJob(cluster: Cluster, body: Record<string, unknown>, via?: string): Promise<Job> {
  const { status, body: job } = await cluster.request<Job>('POST', '/jobs', body, { via });
  if (status !== 201) throw new Error(`POST /jobs answered ${status}: ${JSON.stringify(job)}`);
  return job;
}

export async function cancelJob(cluster: Cluster, jobId: number): Promise<void> {
  const { status, body } = await cluster.request('POST', `/jobs/${jobId}/cancel`);
  if (status !== 200) throw new Error(`cancel ${jobId} answered ${status}: ${JSON.stringify(body)}`);
}

/** Occurrence times form an unbroken 1 s grid: none missing between the first and the last, none twice. */
export function expectEverySecond(occurrences: Occurrence[], what: string) {
  const times = occurrences.map((o) => o.at);
  expect(new Set(times).size, `${what}: an occurrence twice`).toBe(times.length);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  const wrong = gaps.map((g, i) => [g, i] as const).filter(([g]) => g !== 1_000);
  expect(
    wrong.map(([g, i]) => `${new Date(times[i]!).toISOString()} → +${g} ms`),
    `${what}: occurrences missing or doubled`,
  ).toEqual([]);
}

/**
 * Each CREATED occurrence has exactly one execution, at its time, attempt 1, and there is no execution without
 * an occurrence: answers the executions by occurrence time.
 */
export function expectOneExecutionEach(occurrences: Occurrence[], executions: ExecutionRow[], what: string) {
  const created = occurrences.filter((o) => o.status === 'CREATED');
  const linked = created.map((o) => o.executionId);
  expect(
    linked.every((id) => id !== null),
    `${what}: a CREATED occurrence without execution`,
  ).toBe(true);
  expect(new Set(linked).size, `${what}: two occurrences share an execution`).toBe(linked.length);
  expect(
    executions.map((e) => e.id).sort((a, b) => a - b),
    `${what}: executions and occurrences differ`,
  ).toEqual((linked as number[]).sort((a, b) => a - b));
  const byId = new Map(executions.map((e) => [e.id, e]));
  const byTime = new Map<number, ExecutionRow>();
  for (const o of created) {
    const e = byId.get(o.executionId!)!;
    expect(e.scheduledFor, `${what}: execution ${e.id} at another time than its occurrence`).toBe(o.at);
    expect(e.attempt, `${what}: execution ${e.id}`).toBe(1);
    byTime.set(o.at, e);
  }
  return byTime;
}

/**
 * The file's cluster for schedule tests: 2 orchestrator replicas on one database and 2 runners, started before
 * its tests with `db` reading the schedule tables, stopped after, with process output printed for a failed
 * test. `db` is set once started.
 */
export function scheduleCluster() {
  const t = { cluster: new Cluster(), db: undefined as unknown as ScheduleDb };
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${t.cluster.tail(150)}`);
  });
  afterAll(async () => {
    await t.db?.close();
    await t.cluster.stop();
  });
  beforeAll(async () => {
    await t.cluster.start({ LOG_LEVEL: 'info' }, { orchestrators: 2 });
    await Promise.all(
      ['runner-a', 'runner-b'].map((name) => t.cluster.startRunner(name, { LOG_LEVEL: 'info' })),
    );
    t.db = ScheduleDb.open(t.cluster);
  });
  return t;
}
