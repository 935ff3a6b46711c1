import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimedExecution, Flow, Job } from '@hourglass/contracts';
import { PARENT_RESULTS_MAX_BYTES } from '@hourglass/contracts';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import {
  claim,
  completeOk,
  createJob,
  eventually,
  failed,
  getJob,
  orchestratorPerFile,
  registerRunner,
  rowCounts,
  succeeded,
} from './helpers.js';

/**
 * Flows (issue 14): jobs that wait for jobs, through the HTTP API on a real database, with runners played by the test
 * (claims and reports over app.inject). Each test uses job types of its own, so claims never see another test's work.
 */

const o = orchestratorPerFile();

const postFlow = (jobs: object[]) => o.app.inject({ method: 'POST', url: '/flows', payload: { jobs } });
const postJob = (body: object) => o.app.inject({ method: 'POST', url: '/jobs', payload: body });

async function createFlow(jobs: object[]): Promise<Flow> {
  const res = await postFlow(jobs);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function getFlow(id: number): Promise<Flow> {
  const res = await o.app.inject({ method: 'GET', url: `/flows/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const idOf = (flow: Flow, ref: string) => flow.jobs.find((j) => j.ref === ref)!.id;
/** A flow's jobs' statuses by ref, as GET /flows/{id} shows them now. */
const statusesByRef = async (flow: Flow) =>
  Object.fromEntries((await getFlow(flow.id)).jobs.map((j) => [j.ref, j.status]));
const statusOf = async (id: number) => (await getJob(o, id)).status;

/** Claims everything due of the runner's types (max 100), without waiting. */
const claimAll = (runner: string) => claim(o, runner, { max: 100, wait: 0 });

/** The executions of these jobs as the database has them. */
async function executionsOf(jobIds: number[]) {
  const { rows } = await sql<{
    job_id: number;
    status: string;
    claimed_at: Date | null;
    finished_at: Date | null;
  }>`
    SELECT job_id, status, claimed_at, finished_at FROM executions WHERE job_id = ANY(${jobIds}::bigint[]) ORDER BY id
  `.execute(o.db);
  return rows;
}

/** Every edge of these jobs whose child was claimed before its parent finished (should be none). */
async function edgesRunOutOfOrder(jobIds: number[]) {
  const { rows } = await sql<{ job_id: number; parent_id: number }>`
    SELECT d.job_id, d.parent_id FROM job_dependencies d
    WHERE d.job_id = ANY(${jobIds}::bigint[])
      AND EXISTS (SELECT 1 FROM executions c, executions p
                  WHERE c.job_id = d.job_id AND p.job_id = d.parent_id AND c.claimed_at IS NOT NULL
                    AND (p.status <> 'SUCCEEDED' OR p.finished_at > c.claimed_at))
  `.execute(o.db);
  return rows;
}

describe('creating flows', () => {
  test('a diamond: the root SCHEDULED, the others WAITING without executions; GET /flows/{id} shows the DAG', async () => {
    const flow = await createFlow([
      { ref: 'd', type: 'diamond', dependsOn: ['b', 'c'] },
      { ref: 'b', type: 'diamond', dependsOn: ['a'] },
      { ref: 'c', type: 'diamond', dependsOn: ['a'], onParentFailure: 'run' },
      { ref: 'a', type: 'diamond' },
    ]);
    // Parents first: ids follow a topological order of the request.
    expect(flow.jobs.map((j) => [j.ref, j.status])).toEqual([
      ['a', 'SCHEDULED'],
      ['b', 'WAITING'],
      ['c', 'WAITING'],
      ['d', 'WAITING'],
    ]);
    const { warnings: _w, ...shown } = flow;
    expect(await getFlow(flow.id)).toEqual(shown);
    expect(flow.status).toBe('RUNNING');
    expect(flow.counts).toEqual({ SCHEDULED: 1, WAITING: 3 });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((r) => idOf(flow, r)) as [number, number, number, number];
    expect(flow.jobs.find((j) => j.ref === 'd')!.dependsOn).toEqual([b, c]);
    expect(flow.jobs.find((j) => j.ref === 'c')!.onParentFailure).toBe('run');
    expect(flow.jobs.find((j) => j.ref === 'a')!.onParentFailure).toBeNull();
    expect(flow.edges).toEqual([
      { parentId: a, jobId: b },
      { parentId: a, jobId: c },
      { parentId: b, jobId: d },
      { parentId: c, jobId: d },
    ]);
    expect((await executionsOf([b, c, d])).length).toBe(0);
    const job = await getJob(o, d);
    expect(job).toMatchObject({
      status: 'WAITING',
      flowId: flow.id,
      dependsOn: [b, c],
      onParentFailure: 'cancel',
    });
  });

  test('cycles are refused with a 400 naming the refs of the cycle, and nothing is written', async () => {
    const before = await rowCounts(o);
    const res = await postFlow([
      { ref: 'root', type: 'cyc' },
      { ref: 'x', type: 'cyc', dependsOn: ['root', 'z'] },
      { ref: 'y', type: 'cyc', dependsOn: ['x'] },
      { ref: 'z', type: 'cyc', dependsOn: ['y'] },
    ]);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors).toEqual([{ field: 'jobs', message: 'dependsOn forms a cycle: x → y → z → x' }]);
    const self = await postFlow([{ ref: 'me', type: 'cyc', dependsOn: ['me'] }]);
    expect(self.statusCode).toBe(400);
    expect(self.json().errors[0].message).toBe('dependsOn forms a cycle: me → me');
    expect(await rowCounts(o)).toEqual(before);
  });

  test('unknown refs, duplicate refs, unknown or recurring parent ids: 400 naming them, nothing written', async () => {
    const before = await rowCounts(o);
    const cases: [object[], string, RegExp][] = [
      [
        [
          { ref: 'a', type: 'bad' },
          { ref: 'b', type: 'bad', dependsOn: ['a', 'nope'] },
        ],
        'jobs.1.dependsOn.1',
        /'nope'/,
      ],
      [
        [
          { ref: 'a', type: 'bad' },
          { ref: 'a', type: 'bad' },
        ],
        'jobs.1.ref',
        /also the ref of jobs.0/,
      ],
      [[{ ref: 'a', type: 'bad', dependsOn: [999_999_999] }], 'jobs.0.dependsOn', /no job 999999999/],
      [[{ ref: 'a', type: 'bad', idempotencyKey: 'k' }], 'jobs.0.idempotencyKey', /not supported/],
      [[{ ref: 'a', type: 'bad', intervalSeconds: 60 }], 'jobs.0.intervalSeconds', /one-shot/],
      [
        [{ ref: 'a', type: 'bad', onParentFailure: 'run' }],
        'jobs.0.onParentFailure',
        /only applies with dependsOn/,
      ],
    ];
    for (const [jobs, field, message] of cases) {
      const res = await postFlow(jobs);
      expect(res.statusCode, res.body).toBe(400);
      const error = res.json().errors.find((e: { field: string }) => e.field === field);
      expect(error, res.body).toBeDefined();
      expect(error.message).toMatch(message);
    }
    const recurring = await createJob(o, { type: 'bad', intervalSeconds: 3600 });
    const afterRecurring = await rowCounts(o);
    const onJob = await postJob({ type: 'bad', dependsOn: [recurring.id, 888_888_888] });
    expect(onJob.statusCode).toBe(400);
    expect(onJob.json().errors).toEqual([{ field: 'dependsOn', message: 'no job 888888888' }]);
    const onRecurring = await postJob({ type: 'bad', dependsOn: [recurring.id] });
    expect(onRecurring.statusCode).toBe(400);
    expect(onRecurring.json().errors[0].message).toMatch(/recurring/);
    const recurringChild = await postJob({ type: 'bad', intervalSeconds: 60, dependsOn: [recurring.id] });
    expect(recurringChild.statusCode).toBe(400);
    expect(recurringChild.json().errors[0].field).toBe('dependsOn');
    const batch = await o.app.inject({
      method: 'POST',
      url: '/jobs/batch',
      payload: { jobs: [{ type: 'bad' }, { type: 'bad', dependsOn: [777_777_777] }] },
    });
    expect(batch.statusCode).toBe(400);
    expect(batch.json().errors[0].field).toBe('jobs.1.dependsOn');
    expect(await rowCounts(o)).toEqual({ ...afterRecurring });
    expect(afterRecurring.jobs).toBe(before.jobs + 1);
    expect((await o.app.inject({ method: 'GET', url: '/flows/987654321' })).statusCode).toBe(404);
  });
});

test('a parent takes at most 10,000 dependents: one more is a 400 naming dependsOn, and nothing is written', async () => {
  const parent = await createJob(o, { type: 'crowded', delayMs: 3_600_000 });
  // 10,000 dependents already (written directly: creating them through the API would take minutes).
  await sql`
    WITH kids AS (
      INSERT INTO jobs (type, run_at, status, parent_count, waiting_parents, on_parent_failure)
      SELECT 'crowded-child', now(), 'WAITING', 1, 1, 'cancel' FROM generate_series(1, 10000) RETURNING id
    )
    INSERT INTO job_dependencies (job_id, parent_id) SELECT id, ${parent.id} FROM kids
  `.execute(o.db);
  const before = await rowCounts(o);
  const res = await postJob({ type: 'crowded-child', dependsOn: [parent.id] });
  expect(res.statusCode, res.body).toBe(400);
  expect(res.json().errors[0]).toMatchObject({ field: 'dependsOn' });
  expect(res.json().detail).toContain('more than 10000 dependents');
  expect(await rowCounts(o)).toEqual(before);
});

describe('running flows', () => {
  test('fan-out and fan-in: children start only after their parents finished, woken at once', async () => {
    const runner = await registerRunner(o, { types: ['fan'], capacity: 100 });
    const flow = await createFlow([
      { ref: 'split', type: 'fan', payload: { n: 0 } },
      ...[1, 2, 3, 4, 5].map((n) => ({
        ref: `part-${n}`,
        type: 'fan',
        payload: { n },
        dependsOn: ['split'],
      })),
      { ref: 'join', type: 'fan', dependsOn: [1, 2, 3, 4, 5].map((n) => `part-${n}`) },
    ]);
    const ids = flow.jobs.map((j) => j.id);
    const first = await claimAll(runner);
    expect(first.map((e) => e.jobId)).toEqual([idOf(flow, 'split')]);
    // A long poll waiting before the parent finishes is answered by the release, not by its timeout.
    const waiting = claim(o, runner, { max: 100, wait: 20 });
    await sleep(100);
    const startedWaiting = Date.now();
    await completeOk(o, runner, first[0]!.id, succeeded({ parts: 5 }));
    const parts = await waiting;
    expect(Date.now() - startedWaiting).toBeLessThan(10_000);
    expect(parts.map((e) => e.jobId).sort()).toEqual(
      [1, 2, 3, 4, 5].map((n) => idOf(flow, `part-${n}`)).sort(),
    );
    // Each part gets the split's result.
    for (const p of parts) {
      expect(p.parents).toEqual([
        { jobId: idOf(flow, 'split'), type: 'fan', status: 'SUCCEEDED', result: { parts: 5 } },
      ]);
    }
    // The join waits for all five: four done is not enough.
    for (const p of parts.slice(0, 4)) await completeOk(o, runner, p.id, succeeded({ part: p.payload }));
    expect(await claimAll(runner)).toEqual([]);
    expect(await statusOf(idOf(flow, 'join'))).toBe('WAITING');
    await completeOk(o, runner, parts[4]!.id, succeeded({ part: parts[4]!.payload }));
    const [join, ...more] = await claimAll(runner);
    expect(more).toEqual([]);
    expect(join!.jobId).toBe(idOf(flow, 'join'));
    expect(join!.parents!.map((p) => p.jobId)).toEqual([1, 2, 3, 4, 5].map((n) => idOf(flow, `part-${n}`)));
    await completeOk(o, runner, join!.id, succeeded());
    expect(await edgesRunOutOfOrder(ids)).toEqual([]);
    const done = await getFlow(flow.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.counts).toEqual({ SUCCEEDED: 7 });
    expect((await executionsOf(ids)).length).toBe(7);
  });

  test('a failing parent cancels its dependents down the graph; onParentFailure run releases them', async () => {
    const runner = await registerRunner(o, { types: ['doom'], capacity: 100 });
    const flow = await createFlow([
      { ref: 'a', type: 'doom', maxAttempts: 1 },
      { ref: 'b', type: 'doom', dependsOn: ['a'] },
      { ref: 'c', type: 'doom', dependsOn: ['b'] },
      { ref: 'd', type: 'doom', dependsOn: ['c', 'a'] },
      { ref: 'cleanup', type: 'doom', dependsOn: ['a'], onParentFailure: 'run' },
      { ref: 'after-cleanup', type: 'doom', dependsOn: ['cleanup', 'c'], onParentFailure: 'run' },
    ]);
    const [a] = await claimAll(runner);
    await completeOk(o, runner, a!.id, failed('broken'));
    expect(await statusesByRef(flow)).toEqual({
      a: 'FAILED',
      b: 'CANCELLED',
      c: 'CANCELLED',
      d: 'CANCELLED',
      cleanup: 'SCHEDULED',
      'after-cleanup': 'WAITING',
    });
    const [cleanup, ...none] = await claimAll(runner);
    expect(none).toEqual([]);
    expect(cleanup!.jobId).toBe(idOf(flow, 'cleanup'));
    expect(cleanup!.parents).toEqual([
      { jobId: idOf(flow, 'a'), type: 'doom', status: 'FAILED', result: null },
    ]);
    await completeOk(o, runner, cleanup!.id, succeeded('cleaned'));
    const [last] = await claimAll(runner);
    expect(last!.jobId).toBe(idOf(flow, 'after-cleanup'));
    expect(last!.parents!.map((p) => p.status)).toEqual(['CANCELLED', 'SUCCEEDED']);
    await completeOk(o, runner, last!.id, succeeded());
    expect((await getFlow(flow.id)).status).toBe('FAILED');
    // The cancelled ones never ran; each job ran at most once.
    const ran = await executionsOf(flow.jobs.map((j) => j.id));
    expect(ran.map((e) => e.job_id).sort()).toEqual(
      [idOf(flow, 'a'), idOf(flow, 'cleanup'), idOf(flow, 'after-cleanup')].sort(),
    );
    const events = await sql<{ kind: string; job_id: number }>`
      SELECT x.kind, x.job_id FROM event_outbox o CROSS JOIN LATERAL unnest(o.events) x
      WHERE x.job_id = ANY(${flow.jobs.map((j) => j.id)}::bigint[]) AND x.kind IN ('job.released', 'job.cancelled')
      UNION ALL
      SELECT kind, job_id FROM events WHERE job_id = ANY(${flow.jobs.map((j) => j.id)}::bigint[])
        AND kind IN ('job.released', 'job.cancelled')
    `.execute(o.db);
    expect(events.rows.filter((e) => e.kind === 'job.cancelled')).toHaveLength(3);
    expect(events.rows.filter((e) => e.kind === 'job.released')).toHaveLength(2);
  });

  test('cancelling a WAITING job cancels its dependents; trigger of a WAITING job is refused', async () => {
    const flow = await createFlow([
      { ref: 'root', type: 'cancel-w', delayMs: 3_600_000 },
      { ref: 'mid', type: 'cancel-w', dependsOn: ['root'] },
      { ref: 'leaf', type: 'cancel-w', dependsOn: ['mid'] },
      { ref: 'tolerant', type: 'cancel-w', dependsOn: ['mid'], onParentFailure: 'run' },
    ]);
    const trigger = await o.app.inject({ method: 'POST', url: `/jobs/${idOf(flow, 'mid')}/trigger` });
    expect(trigger.statusCode).toBe(409);
    expect(trigger.json().code).toBe('JOB_NOT_TRIGGERABLE');
    const cancel = await o.app.inject({ method: 'POST', url: `/jobs/${idOf(flow, 'mid')}/cancel` });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json().status).toBe('CANCELLED');
    expect(await statusesByRef(flow)).toEqual({
      root: 'SCHEDULED',
      mid: 'CANCELLED',
      leaf: 'CANCELLED',
      tolerant: 'SCHEDULED',
    });
    await o.app.inject({ method: 'POST', url: `/jobs/${idOf(flow, 'root')}/cancel` });
    await o.app.inject({ method: 'POST', url: `/jobs/${idOf(flow, 'tolerant')}/cancel` });
  });

  test('dependsOn a finished parent: due at once after a success; after a failure as onParentFailure says', async () => {
    const runner = await registerRunner(o, { types: ['late'], capacity: 10 });
    const good = await createJob(o, { type: 'late' });
    const bad = await createJob(o, { type: 'late', maxAttempts: 1 });
    const [e1, e2] = await claimAll(runner);
    await completeOk(o, runner, e1!.jobId === good.id ? e1!.id : e2!.id, succeeded({ ok: 1 }));
    await completeOk(o, runner, e1!.jobId === bad.id ? e1!.id : e2!.id, failed());
    const afterGood: Job = (await postJob({ type: 'late', dependsOn: [good.id] })).json();
    expect(afterGood.status).toBe('SCHEDULED');
    const afterBad: Job = (await postJob({ type: 'late', dependsOn: [bad.id] })).json();
    expect(afterBad.status).toBe('CANCELLED');
    // Created CANCELLED, it announces the cancel like a job a failing parent cancels later.
    const afterBadEvents = await sql<{ kind: string; data: Record<string, unknown> }>`
      SELECT x.kind, x.data FROM event_outbox o CROSS JOIN LATERAL unnest(o.events) x WHERE x.job_id = ${afterBad.id}
      UNION ALL
      SELECT kind, data FROM events WHERE job_id = ${afterBad.id}
    `.execute(o.db);
    expect(afterBadEvents.rows.map((e) => e.kind).sort()).toEqual(['job.cancelled', 'job.created']);
    expect(afterBadEvents.rows.find((e) => e.kind === 'job.cancelled')!.data).toMatchObject({
      status: 'CANCELLED',
      reason: 'a parent failed or was cancelled',
    });
    const runAnyway: Job = (
      await postJob({ type: 'late', dependsOn: [bad.id, good.id], onParentFailure: 'run' })
    ).json();
    expect(runAnyway.status).toBe('SCHEDULED');
    const claimed = await claimAll(runner);
    expect(claimed.map((e) => e.jobId).sort()).toEqual([afterGood.id, runAnyway.id].sort());
    expect(claimed.find((e) => e.jobId === runAnyway.id)!.parents).toEqual(
      [
        { jobId: good.id, type: 'late', status: 'SUCCEEDED', result: { ok: 1 } },
        { jobId: bad.id, type: 'late', status: 'FAILED', result: null },
      ].sort((x, y) => x.jobId - y.jobId),
    );
    for (const e of claimed) await completeOk(o, runner, e.id, succeeded());
  });

  test('a parent finishing while a child is created on it: the child is never left waiting (20 rounds)', async () => {
    const runner = await registerRunner(o, { types: ['race'], capacity: 100 });
    const other = await registerRunner(o, { types: ['race-child'], capacity: 100 });
    for (let round = 0; round < 20; round++) {
      const [p1, p2] = await Promise.all([createJob(o, { type: 'race' }), createJob(o, { type: 'race' })]);
      const running = await claimAll(runner);
      expect(running).toHaveLength(2);
      // Both parents end in two reports at once, while a child of both is created.
      const [, , child] = await Promise.all([
        completeOk(o, runner, running[0]!.id, succeeded(round)),
        completeOk(o, runner, running[1]!.id, succeeded(round)),
        postJob({ type: 'race-child', dependsOn: [p1!.id, p2!.id] }).then((r) => {
          expect(r.statusCode, r.body).toBe(201);
          return r.json() as Job;
        }),
      ]);
      expect(await statusOf(child.id), `round ${round}`).toBe('SCHEDULED');
      const [c] = await claimAll(other);
      expect(c!.jobId).toBe(child.id);
      expect(c!.parents!.map((p) => p.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      await completeOk(o, other, c!.id, succeeded());
    }
  });

  test('two parents ending in two reports at once release their common child once (20 rounds)', async () => {
    const r1 = await registerRunner(o, { types: ['pair'], capacity: 1 });
    const r2 = await registerRunner(o, { types: ['pair'], capacity: 1 });
    const kid = await registerRunner(o, { types: ['pair-child'], capacity: 10 });
    for (let round = 0; round < 20; round++) {
      const flow = await createFlow([
        { ref: 'l', type: 'pair' },
        { ref: 'r', type: 'pair' },
        { ref: 'child', type: 'pair-child', dependsOn: ['l', 'r'] },
      ]);
      const [x] = await claim(o, r1, { max: 1 });
      const [y] = await claim(o, r2, { max: 1 });
      await Promise.all([completeOk(o, r1, x!.id, succeeded()), completeOk(o, r2, y!.id, succeeded())]);
      expect(await statusOf(idOf(flow, 'child')), `round ${round}`).toBe('SCHEDULED');
      const claimed = await claimAll(kid);
      expect(claimed.map((e) => e.jobId)).toEqual([idOf(flow, 'child')]);
      await completeOk(o, kid, claimed[0]!.id, succeeded());
    }
  });

  test('a report settling 12 dependents while another transaction locks them in id order: no deadlock', async () => {
    const runner = await registerRunner(o, { types: ['lock-order'], capacity: 10 });
    const [p, q] = await Promise.all([
      createJob(o, { type: 'lock-order' }),
      createJob(o, { type: 'lock-order', delayMs: 3_600_000 }),
    ]);
    // Each child waits on p and on q (not due for an hour), so p's success only counts down on every child.
    const children: Job[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await postJob({ type: 'lock-order-child', dependsOn: [p.id, q.id] });
      expect(r.statusCode, r.body).toBe(201);
      children.push(r.json());
    }
    const ids = children.map((c) => c.id).sort((a, b) => a - b);
    const [running] = await claimAll(runner);
    expect(running!.jobId).toBe(p.id);
    // Another transaction (as a create on two of them would) holds the lowest child, then wants the rest.
    const other = new pg.Client({ connectionString: o.database.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query("SET LOCAL lock_timeout = '20s'");
      await other.query('SELECT id FROM jobs WHERE id = $1 FOR NO KEY UPDATE', [ids[0]]);
      const report = completeOk(o, runner, running!.id, succeeded());
      // Until the report waits on that lock (it holds whatever it locked before).
      await eventually('the report to wait on the lowest child', async () => {
        const { rows } = await other.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()`,
        );
        return rows.length > 0 || undefined;
      });
      // Locking the others in id order must not meet the report holding one of them (PostgreSQL would abort one).
      await other.query('SELECT id FROM jobs WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [
        ids,
      ]);
      await other.query('COMMIT');
      await report;
    } finally {
      await other.end();
    }
    for (const id of ids) expect(await statusOf(id)).toBe('WAITING');
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM jobs WHERE id = ANY(${ids}::bigint[]) AND waiting_parents = 1
    `.execute(o.db);
    expect(rows[0]!.n).toBe(12);
  });

  test("parents' results in the claim answer are bounded: past 64 KiB a result is left out and marked", async () => {
    const runner = await registerRunner(o, { types: ['big'], capacity: 10 });
    const flow = await createFlow([
      { ref: 'p1', type: 'big' },
      { ref: 'p2', type: 'big' },
      { ref: 'p3', type: 'big' },
      { ref: 'child', type: 'big', dependsOn: ['p1', 'p2', 'p3'] },
    ]);
    const parents = await claimAll(runner);
    const half = 'x'.repeat(PARENT_RESULTS_MAX_BYTES / 2 - 100);
    for (const e of parents) {
      await completeOk(
        o,
        runner,
        e.id,
        succeeded(e.jobId === idOf(flow, 'p2') ? { half, more: half } : { half }),
      );
    }
    const [child]: ClaimedExecution[] = await claimAll(runner);
    expect(child!.parents!.map((p) => [p.jobId, p.resultTruncated ?? false])).toEqual([
      [idOf(flow, 'p1'), false],
      [idOf(flow, 'p2'), true],
      [idOf(flow, 'p3'), true],
    ]);
    expect(child!.parents![0]!.result).toEqual({ half });
    expect(child!.parents![1]!.result).toBeNull();
    expect(JSON.stringify(child!.parents).length).toBeLessThan(PARENT_RESULTS_MAX_BYTES + 1_000);
    await completeOk(o, runner, child!.id, succeeded());
  });
});
