import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimedExecution, CompletionVerdict, Execution, Job, Outcome } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect } from 'vitest';

/** Shared steps of the orchestrator's integration tests, all through `app.inject` (no socket). */

/**
 * The orchestrator of a whole test file, on its own fresh database: started before the file's tests, stopped (and
 * its database dropped) after them. What it answers stands for that orchestrator once started.
 */
export function orchestratorPerFile(env?: Record<string, string>): TestOrchestrator {
  let started: TestOrchestrator | undefined;
  beforeAll(async () => {
    started = await startTestOrchestrator({ env });
  });
  afterAll(async () => {
    if (started) await stopTestOrchestrator(started);
  });
  return new Proxy({} as TestOrchestrator, {
    get(_target, property) {
      if (!started) throw new Error('the orchestrator is used before beforeAll started it');
      return Reflect.get(started, property);
    },
  });
}

/**
 * Two orchestrators of a whole test file on one fresh database (replicas): started before the file's tests, stopped
 * (the database dropped with the last) after them.
 */
export function replicasPerFile(env?: Record<string, string>): [TestOrchestrator, TestOrchestrator] {
  const started: TestOrchestrator[] = [];
  beforeAll(async () => {
    const first = await startTestOrchestrator({ env });
    started.push(first);
    started.push(await startTestOrchestrator({ env, database: first.database }));
  });
  afterAll(async () => {
    const [first, second] = started;
    if (second) await stopTestOrchestrator(second, true);
    if (first) await stopTestOrchestrator(first);
  });
  const replica = (i: number) =>
    new Proxy({} as TestOrchestrator, {
      get(_target, property) {
        const o = started[i];
        if (!o) throw new Error('a replica is used before beforeAll started it');
        return Reflect.get(o, property);
      },
    });
  return [replica(0), replica(1)];
}

export async function registerRunner(
  o: TestOrchestrator,
  body: { types?: string[]; capacity?: number; name?: string; host?: string; queues?: string[] } = {},
): Promise<string> {
  const res = await o.app.inject({
    method: 'POST',
    url: '/runners/register',
    payload: { name: 'test-runner', host: 'test-host', types: ['echo'], capacity: 10, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

export type JobInput = Record<string, unknown> & { type?: string };

export async function createJob(
  o: TestOrchestrator,
  body: JobInput = {},
  headers: Record<string, string> = {},
): Promise<Job> {
  const res = await o.app.inject({
    method: 'POST',
    url: '/jobs',
    payload: { type: 'echo', ...body },
    headers,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Creates jobs through `POST /jobs/batch`, 1000 per request (the contract's maximum). */
export async function createJobs(o: TestOrchestrator, bodies: JobInput[]): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let i = 0; i < bodies.length; i += 1000) {
    const res = await o.app.inject({
      method: 'POST',
      url: '/jobs/batch',
      payload: { jobs: bodies.slice(i, i + 1000).map((b) => ({ type: 'echo', ...b })) },
    });
    expect(res.statusCode, res.body).toBe(201);
    jobs.push(...res.json().jobs);
  }
  return jobs;
}

/** One `next-job` call: the executions handed out (empty on 204). */
export async function claim(
  o: TestOrchestrator,
  runnerId: string,
  opts: { max?: number; wait?: number } = {},
): Promise<ClaimedExecution[]> {
  const res = await o.app.inject({
    method: 'POST',
    url: `/runners/${runnerId}/next-job?max=${opts.max ?? 1}&wait=${opts.wait ?? 0}`,
  });
  if (res.statusCode === 204) return [];
  expect(res.statusCode, res.body).toBe(200);
  return res.json().executions;
}

/** Claims exactly one execution, waiting up to `wait` seconds for it. */
export async function claimOne(o: TestOrchestrator, runnerId: string, wait = 5): Promise<ClaimedExecution> {
  const got = await claim(o, runnerId, { max: 1, wait });
  expect(got, 'expected one execution to be handed out').toHaveLength(1);
  return got[0]!;
}

export const succeeded = (result: unknown = null): Outcome => ({ status: 'SUCCEEDED', result });
export const failed = (error = 'boom'): Outcome => ({ status: 'FAILED', error });

export async function complete(o: TestOrchestrator, runnerId: string, executionId: number, outcome: Outcome) {
  return o.app.inject({
    method: 'POST',
    url: `/executions/${executionId}/complete`,
    payload: { runnerId, outcome },
  });
}

/** Completes and expects 200; answers the execution as recorded. */
export async function completeOk(
  o: TestOrchestrator,
  runnerId: string,
  executionId: number,
  outcome: Outcome,
): Promise<Execution> {
  const res = await complete(o, runnerId, executionId, outcome);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

export async function completeBatch(
  o: TestOrchestrator,
  runnerId: string,
  results: { executionId: number; outcome: Outcome }[],
): Promise<{ executionId: number; verdict: CompletionVerdict; status: string | null }[]> {
  const res = await o.app.inject({
    method: 'POST',
    url: '/executions/complete',
    payload: { runnerId, results },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().results;
}

export async function heartbeat(o: TestOrchestrator, runnerId: string, running: number[] = []) {
  const res = await o.app.inject({
    method: 'POST',
    url: `/runners/${runnerId}/heartbeat`,
    payload: { running },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { cancel: number[]; drain: boolean; leaseExpiresAt: string };
}

export async function getJob(o: TestOrchestrator, id: number): Promise<Job> {
  const res = await o.app.inject({ method: 'GET', url: `/jobs/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

export async function getExecution(o: TestOrchestrator, id: number): Promise<Execution> {
  const res = await o.app.inject({ method: 'GET', url: `/executions/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** A job's executions, oldest first. */
export async function jobExecutions(o: TestOrchestrator, jobId: number): Promise<Execution[]> {
  const res = await o.app.inject({ method: 'GET', url: `/jobs/${jobId}/executions?limit=500` });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().items as Execution[]).reverse();
}

/** Row counts of every table, to prove that a request wrote nothing. */
export async function rowCounts(o: TestOrchestrator) {
  const { rows } = await sql<{ jobs: number; executions: number; runners: number; dead_letters: number }>`
    SELECT (SELECT count(*) FROM jobs)::int AS jobs,
           (SELECT count(*) FROM executions)::int AS executions,
           (SELECT count(*) FROM runners)::int AS runners,
           (SELECT count(*) FROM dead_letters)::int AS dead_letters
  `.execute(o.db);
  return rows[0]!;
}

/** Every table's full content as one digest per table: unchanged digests mean nothing was written. */
export async function tableDigests(o: TestOrchestrator) {
  const { rows } = await sql<Record<string, string | null>>`
    SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM jobs t) AS jobs,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM executions t) AS executions,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM runners t) AS runners,
           (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM dead_letters t) AS dead_letters
  `.execute(o.db);
  return rows[0]!;
}

/** Polls `check` until it returns a value other than undefined, failing after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 5_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const ms = (iso: string | null | undefined) => {
  expect(iso).toBeTruthy();
  return Date.parse(iso!);
};
