import type { Flow, ParentResult } from '@hourglass/contracts';
import { createRunner, defineHandler, type Runner } from '@hourglass/runner';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { z } from 'zod';
import { eventually } from './helpers.js';

/**
 * A 1,000-job flow run to completion by real runners (the runner SDK in this process, over HTTP and long polls, two
 * of them): every job runs exactly once, never before its parents finished, and each handler reads its parents'
 * results through ctx.parents (issue 14).
 */

let o: TestOrchestrator;
const runners: Runner[] = [];
/** What each handler saw: its ref and its parents' results. */
const seen = new Map<string, { count: number; parents: readonly ParentResult[] }>();

beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true });
  for (const name of ['dag-1', 'dag-2']) {
    const runner = createRunner({
      orchestratorUrl: o.url,
      name,
      concurrency: 20,
      handlers: [
        defineHandler({
          type: 'dag',
          payload: z.object({ ref: z.string() }),
          handle: ({ ref }, ctx) => {
            const before = seen.get(ref);
            seen.set(ref, { count: (before?.count ?? 0) + 1, parents: ctx.parents });
            return {
              ref,
              sum: ctx.parents.reduce((n, p) => n + ((p.result as { sum: number }).sum ?? 0), 1),
            };
          },
        }),
      ],
      handleSignals: false,
      logger: pino({ level: 'silent' }),
      pollWaitSeconds: 5,
    });
    await runner.start();
    runners.push(runner);
  }
}, 60_000);

afterAll(async () => {
  for (const r of runners) await r.stop();
  o?.app.server.closeAllConnections();
  if (o) await stopTestOrchestrator(o);
});

/** 10 layers of 100 jobs; each job below the first waits for 1 to 3 jobs of the layer above (fixed pseudo-random). */
function layeredDag() {
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  const jobs: { ref: string; type: string; payload: { ref: string }; dependsOn?: string[] }[] = [];
  for (let layer = 0; layer < 10; layer++) {
    for (let i = 0; i < 100; i++) {
      const ref = `L${layer}-${i}`;
      const parents =
        layer === 0
          ? []
          : [...new Set([0, 1, 2].slice(0, 1 + (next() % 3)).map(() => `L${layer - 1}-${next() % 100}`))];
      jobs.push({ ref, type: 'dag', payload: { ref }, ...(parents.length ? { dependsOn: parents } : {}) });
    }
  }
  // Listed children first: the orchestrator orders the request itself.
  return jobs.reverse();
}

test('a 1,000-job DAG runs to completion, each job once, children after their parents', async () => {
  const jobs = layeredDag();
  const res = await o.app.inject({ method: 'POST', url: '/flows', payload: { jobs } });
  expect(res.statusCode, res.body).toBe(201);
  const flow: Flow = res.json();
  expect(flow.jobs).toHaveLength(1000);

  const final = await eventually(
    'the flow to finish',
    async () => {
      const got: Flow = (await o.app.inject({ method: 'GET', url: `/flows/${flow.id}` })).json();
      return got.status === 'RUNNING' ? undefined : got;
    },
    120_000,
    200,
  );
  expect(final.status).toBe('SUCCEEDED');
  expect(final.counts).toEqual({ SUCCEEDED: 1000 });

  const ids = flow.jobs.map((j) => j.id);
  const { rows } = await sql<{ n: number; jobs: number; ok: number }>`
    SELECT count(*)::int AS n, count(DISTINCT job_id)::int AS jobs,
           count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS ok
    FROM executions WHERE job_id = ANY(${ids}::bigint[])
  `.execute(o.db);
  expect(rows[0]).toEqual({ n: 1000, jobs: 1000, ok: 1000 });
  const { rows: early } = await sql<{ job_id: number }>`
    SELECT d.job_id FROM job_dependencies d
    JOIN executions c ON c.job_id = d.job_id JOIN executions p ON p.job_id = d.parent_id
    WHERE d.job_id = ANY(${ids}::bigint[]) AND c.claimed_at < p.finished_at
  `.execute(o.db);
  expect(early).toEqual([]);

  // Each handler ran once and read each parent's result through ctx.parents.
  expect(seen.size).toBe(1000);
  const refOf = new Map(flow.jobs.map((j) => [j.id, j.ref]));
  for (const j of jobs) {
    const s = seen.get(j.ref)!;
    expect(s.count, j.ref).toBe(1);
    expect(s.parents.map((p) => refOf.get(p.jobId)).sort()).toEqual([...(j.dependsOn ?? [])].sort());
    for (const p of s.parents) {
      expect(p.status).toBe('SUCCEEDED');
      expect((p.result as { ref: string }).ref).toBe(refOf.get(p.jobId));
    }
  }
}, 180_000);
