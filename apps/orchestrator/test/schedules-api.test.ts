import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimedExecution, Job, Outcome } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import type { InjectOptions } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { nextOccurrence } from '../src/schedules/schedule.js';
import {
  claim,
  completeOk,
  createJob,
  eventually,
  failed,
  getJob,
  heartbeat,
  type JobInput,
  ms,
  registerRunner,
  succeeded,
} from './helpers.js';

/**
 * Schedules through the HTTP API of one in-process orchestrator: bad input is refused and stores nothing; jobs
 * show their schedule; and the scheduler loop (on the database's clock) makes occurrences that a runner, played
 * by this file over `next-job`, claims and completes: pause, resume, trigger, cancel, PATCH, failures and the
 * overlap policies.
 */

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

const future = new Date(Date.now() + 3_600_000).toISOString();
const longAgo = '2001-01-01T00:00:00Z';
const SECOND = 1_000;

const send = (method: InjectOptions['method'], url: string, payload?: unknown) =>
  o.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as string }) });
const lifecycle = (jobId: number, action: 'pause' | 'resume' | 'trigger' | 'cancel') =>
  send('POST', `/jobs/${jobId}/${action}`);
const patch = (jobId: number, body: unknown) => send('PATCH', `/jobs/${jobId}`, body);

async function dbNow(): Promise<number> {
  const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(o.db);
  return rows[0]!.now.getTime();
}

interface OccurrenceRow {
  scheduled_for: Date;
  status: 'CREATED' | 'SKIPPED' | 'QUEUED';
  reason: string | null;
  execution_id: number | null;
  created_at: Date;
}
/** The rows as stored: a run of skipped occurrences is one row, `occurrence_count` of them up to `last_at`. */
async function occurrenceRowsOf(jobId: number) {
  const { rows } = await sql<OccurrenceRow & { occurrence_count: number; last_at: Date }>`
    SELECT scheduled_for, status, reason, execution_id::int AS execution_id, created_at, occurrence_count,
           coalesce(last_scheduled_for, scheduled_for) AS last_at
    FROM occurrences WHERE job_id = ${jobId} ORDER BY scheduled_for
  `.execute(o.db);
  return rows;
}
/**
 * A job's occurrences one by one: a skipped run spread evenly from its first to its last (the jobs here are on
 * even grids: intervals, or cron at fixed seconds).
 */
async function occurrencesOf(jobId: number): Promise<OccurrenceRow[]> {
  return (await occurrenceRowsOf(jobId)).flatMap(({ occurrence_count: n, last_at, ...row }) => {
    const step = n > 1 ? (last_at.getTime() - row.scheduled_for.getTime()) / (n - 1) : 0;
    return Array.from({ length: n }, (_, i) => ({
      ...row,
      scheduled_for: new Date(row.scheduled_for.getTime() + i * step),
    }));
  });
}

interface ExecutionRow {
  id: number;
  status: string;
  attempt: number;
  scheduled_for: Date;
  created_at: Date;
  claimed_at: Date | null;
  finished_at: Date | null;
  error: string | null;
}
async function executionsOf(jobId: number): Promise<ExecutionRow[]> {
  const { rows } = await sql<ExecutionRow>`
    SELECT id::int AS id, status, attempt, scheduled_for, created_at, claimed_at, finished_at, error
    FROM executions WHERE job_id = ${jobId} ORDER BY id
  `.execute(o.db);
  return rows;
}

/** The content of every table a schedule writes to, as digests: unchanged digests mean nothing was written. */
async function digests() {
  const { rows } = await sql<Record<string, string | null>>`
    SELECT (SELECT count(*) FROM jobs)::text || ':' || coalesce((SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM jobs t), '') AS jobs,
           (SELECT count(*) FROM executions)::text || ':' || coalesce((SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM executions t), '') AS executions,
           (SELECT count(*) FROM occurrences)::text || ':' || coalesce((SELECT md5(string_agg(t::text, '|' ORDER BY t.job_id, t.scheduled_for)) FROM occurrences t), '') AS occurrences,
           (SELECT count(*) FROM dead_letters)::text AS dead_letters
  `.execute(o.db);
  return rows[0]!;
}

async function expectProblem(res: Awaited<ReturnType<typeof send>>, status: number, fields?: string[]) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body.status).toBe(status);
  if (fields) {
    expect(body.errors?.length, res.body).toBeGreaterThan(0);
    expect(fields, `named field of ${res.body}`).toContain(body.errors[0].field);
  }
  return body;
}

describe('bad schedule input: 400 naming the field, nothing stored', () => {
  let cronJob: Job;
  let intervalJob: Job;
  let oneShot: Job;
  beforeAll(async () => {
    // Rows a bad request could damage; none of them is due during this block.
    cronJob = await createJob(o, { scheduleExpression: '0 0 1 1 *' });
    intervalJob = await createJob(o, { intervalSeconds: 86_400 });
    oneShot = await createJob(o, { runAt: future });
  });

  const create: [string, JobInput, string[]][] = [
    ['invalid cron: minute 61', { scheduleExpression: '61 * * * *' }, ['scheduleExpression']],
    ['invalid cron: second 60', { scheduleExpression: '60 * * * * *' }, ['scheduleExpression']],
    ['cron with 4 fields', { scheduleExpression: '* * * *' }, ['scheduleExpression']],
    ['cron with 7 fields', { scheduleExpression: '* * * * * * *' }, ['scheduleExpression']],
    ['cron garbage', { scheduleExpression: 'garbage' }, ['scheduleExpression']],
    ['cron with words', { scheduleExpression: 'at nine every day please' }, ['scheduleExpression']],
    ['cron that never fires', { scheduleExpression: '0 0 30 2 *' }, ['scheduleExpression']],
    ['cron blank', { scheduleExpression: '   ' }, ['scheduleExpression']],
    ['cron not a string', { scheduleExpression: 5 }, ['scheduleExpression']],
    ['unknown time zone', { scheduleExpression: '0 9 * * *', timezone: 'Mars/Olympus' }, ['timezone']],
    ['empty time zone', { scheduleExpression: '0 9 * * *', timezone: '' }, ['timezone']],
    ['runAt in the past', { runAt: longAgo }, ['runAt']],
    ['startAt in the past', { intervalSeconds: 60, startAt: longAgo }, ['startAt']],
    ['startAt not a time', { intervalSeconds: 60, startAt: 'soon' }, ['startAt']],
    ['runAt and delayMs', { runAt: future, delayMs: 1_000 }, ['runAt', 'delayMs']],
    [
      'runAt and scheduleExpression',
      { runAt: future, scheduleExpression: '* * * * *' },
      ['runAt', 'scheduleExpression'],
    ],
    ['runAt and intervalSeconds', { runAt: future, intervalSeconds: 60 }, ['runAt', 'intervalSeconds']],
    [
      'delayMs and scheduleExpression',
      { delayMs: 5, scheduleExpression: '* * * * *' },
      ['delayMs', 'scheduleExpression'],
    ],
    [
      'scheduleExpression and intervalSeconds',
      { scheduleExpression: '* * * * *', intervalSeconds: 60 },
      ['scheduleExpression', 'intervalSeconds'],
    ],
    ['delayMs and intervalSeconds', { delayMs: 5, intervalSeconds: 60 }, ['delayMs', 'intervalSeconds']],
    ['timezone without a cron', { timezone: 'Europe/Berlin' }, ['timezone']],
    ['timezone with an interval', { intervalSeconds: 60, timezone: 'Europe/Berlin' }, ['timezone']],
    ['startAt without an interval', { startAt: future }, ['startAt']],
    ['startAt with a cron', { scheduleExpression: '0 9 * * *', startAt: future }, ['startAt']],
    ['overlapPolicy on a one-shot', { overlapPolicy: 'allow' }, ['overlapPolicy']],
    ['catchUpPolicy on a delayed one-shot', { delayMs: 1_000, catchUpPolicy: 'skip' }, ['catchUpPolicy']],
    ['overlapPolicy on a runAt one-shot', { runAt: future, overlapPolicy: 'queue' }, ['overlapPolicy']],
    ['unknown overlapPolicy', { intervalSeconds: 60, overlapPolicy: 'sometimes' }, ['overlapPolicy']],
    ['unknown catchUpPolicy', { scheduleExpression: '0 9 * * *', catchUpPolicy: 'all' }, ['catchUpPolicy']],
    ['intervalSeconds 0', { intervalSeconds: 0 }, ['intervalSeconds']],
    ['intervalSeconds negative', { intervalSeconds: -5 }, ['intervalSeconds']],
    ['intervalSeconds a fraction', { intervalSeconds: 1.5 }, ['intervalSeconds']],
    ['intervalSeconds a string', { intervalSeconds: '10' }, ['intervalSeconds']],
    ['intervalSeconds over a year', { intervalSeconds: 366 * 86_400 + 1 }, ['intervalSeconds']],
  ];

  test.each(create)('POST /jobs with %s', async (_name, body, fields) => {
    const before = await digests();
    await expectProblem(await send('POST', '/jobs', { type: 'echo', ...body }), 400, fields);
    expect(await digests()).toEqual(before);
  });

  test('a batch with one bad schedule stores none of its jobs, and names the item', async () => {
    const before = await digests();
    const good = { type: 'echo', scheduleExpression: '*/5 * * * *' };
    await expectProblem(
      await send('POST', '/jobs/batch', { jobs: [good, { type: 'echo', scheduleExpression: '61 * * * *' }] }),
      400,
      ['jobs.1.scheduleExpression'],
    );
    await expectProblem(
      await send('POST', '/jobs/batch', {
        jobs: [good, good, { type: 'echo', scheduleExpression: '* * * * *', timezone: 'Nowhere/Land' }],
      }),
      400,
      ['jobs.2.timezone'],
    );
    await expectProblem(
      await send('POST', '/jobs/batch', { jobs: [good, { type: 'echo', intervalSeconds: 0 }] }),
      400,
      ['jobs.1.intervalSeconds'],
    );
    expect(await digests()).toEqual(before);
  });

  test('PATCH with bad fields: 400 naming the field; on a one-shot 409; on an unknown job 404', async () => {
    const before = await digests();
    const cases: [number | string, unknown, number, string[]?][] = [
      [cronJob.id, {}, 400, ['scheduleExpression']],
      [cronJob.id, { scheduleExpression: '61 * * * *' }, 400, ['scheduleExpression']],
      [cronJob.id, { scheduleExpression: '* * * *' }, 400, ['scheduleExpression']],
      [cronJob.id, { scheduleExpression: '0 0 30 2 *' }, 400, ['scheduleExpression']],
      [cronJob.id, { scheduleExpression: '' }, 400, ['scheduleExpression']],
      [cronJob.id, { timezone: 'Nowhere/Land' }, 400, ['timezone']],
      [cronJob.id, { scheduleExpression: '0 9 * * *', timezone: 'Mars/Olympus' }, 400, ['timezone']],
      [cronJob.id, { scheduleExpression: '* * * * *', intervalSeconds: 5 }, 400, ['intervalSeconds']],
      [cronJob.id, { overlapPolicy: 'never' }, 400, ['overlapPolicy']],
      [cronJob.id, { catchUpPolicy: 'sometimes' }, 400, ['catchUpPolicy']],
      [cronJob.id, { startAt: future }, 400, ['startAt']],
      [cronJob.id, { bogus: 1 }, 400, ['bogus']],
      [intervalJob.id, { intervalSeconds: 0 }, 400, ['intervalSeconds']],
      [intervalJob.id, { intervalSeconds: -1 }, 400, ['intervalSeconds']],
      [intervalJob.id, { intervalSeconds: 2.5 }, 400, ['intervalSeconds']],
      [intervalJob.id, { timezone: 'UTC' }, 400, ['timezone']],
      ['abc', { intervalSeconds: 60 }, 400, ['id']],
      [oneShot.id, { intervalSeconds: 60 }, 409],
      [oneShot.id, { scheduleExpression: '* * * * *' }, 409],
      [999_999, { intervalSeconds: 60 }, 404],
    ];
    const wrong: string[] = [];
    for (const [id, body, status, fields] of cases) {
      const res = await patch(id as number, body);
      const named = res.json().errors?.[0]?.field;
      if (res.statusCode !== status || (fields && !fields.includes(named))) {
        wrong.push(`PATCH ${id} ${JSON.stringify(body)}: ${res.statusCode} ${res.body}`);
      }
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(wrong).toEqual([]);
    expect(await digests()).toEqual(before);
  });

  test('pause and resume only apply to recurring jobs in the right state', async () => {
    const before = await digests();
    await expectProblem(await lifecycle(oneShot.id, 'pause'), 409);
    await expectProblem(await lifecycle(oneShot.id, 'resume'), 409);
    await expectProblem(await lifecycle(intervalJob.id, 'resume'), 409); // not paused
    await expectProblem(await lifecycle(999_999, 'pause'), 404);
    await expectProblem(await lifecycle(999_999, 'resume'), 404);
    await expectProblem(await send('GET', '/jobs?kind=weekly'), 400, ['kind']);
    expect(await digests()).toEqual(before);
    expect((await getJob(o, oneShot.id)).status).toBe('SCHEDULED');
  });
});

describe('what a recurring job looks like', () => {
  test('GET /jobs?kind= filters by kind', async () => {
    const made = {
      once: [await createJob(o, { runAt: future }), await createJob(o, { delayMs: 3_600_000 })],
      cron: [await createJob(o, { scheduleExpression: '0 9 * * *', timezone: 'Europe/Berlin' })],
      interval: [await createJob(o, { intervalSeconds: 3_600 })],
    };
    const all = Object.values(made)
      .flat()
      .map((j) => j.id);
    for (const kind of ['once', 'cron', 'interval'] as const) {
      const res = await send('GET', `/jobs?kind=${kind}&limit=500`);
      expect(res.statusCode, res.body).toBe(200);
      const items = res.json().items as Job[];
      expect(items.length).toBeGreaterThan(0);
      expect(new Set(items.map((j) => j.kind))).toEqual(new Set([kind]));
      const ours = items.map((j) => j.id).filter((id) => all.includes(id));
      expect(ours.sort()).toEqual(made[kind].map((j) => j.id).sort());
    }
    // Combined with another filter.
    const res = await send('GET', '/jobs?kind=cron&type=noop');
    expect(res.json().items).toEqual([]);
  });

  test('GET /jobs/:id shows the schedule and the next run', async () => {
    const before = await dbNow();
    const cron = await createJob(o, {
      scheduleExpression: '0 9 * * *',
      timezone: 'America/New_York',
      overlapPolicy: 'queue',
      catchUpPolicy: 'fire_all',
    });
    const utc = await createJob(o, { scheduleExpression: '*/10 * * * * *' });
    const startAt = new Date(Date.now() + 7_200_000).toISOString();
    const anchored = await createJob(o, { intervalSeconds: 90, startAt });
    const plain = await createJob(o, { intervalSeconds: 600 });
    const once = await createJob(o, { runAt: future });
    const after = await dbNow();

    const c = await getJob(o, cron.id);
    expect(c).toMatchObject({
      kind: 'cron',
      status: 'SCHEDULED',
      schedule: {
        kind: 'cron',
        scheduleExpression: '0 9 * * *',
        timezone: 'America/New_York',
        intervalSeconds: null,
        overlapPolicy: 'queue',
        catchUpPolicy: 'fire_all',
      },
      lastExecution: null,
    });
    expect(c.lastOccurrence).toBeUndefined();
    // The first occurrence is the next 09:00 in New York.
    expect(new Date(ms(c.nextRunAt)).toLocaleString('sv-SE', { timeZone: 'America/New_York' })).toMatch(
      / 09:00:00$/,
    );
    expect(ms(c.nextRunAt)).toBe(
      nextOccurrence(
        { kind: 'cron', expression: '0 9 * * *', timezone: 'America/New_York' },
        new Date(after),
      )!.getTime(),
    );
    expect(c.runAt).toBe(c.nextRunAt);

    const u = await getJob(o, utc.id);
    expect(u.schedule).toMatchObject({ timezone: 'UTC', overlapPolicy: 'skip', catchUpPolicy: 'fire_once' });
    expect(ms(u.nextRunAt) % 10_000).toBe(0);
    expect(ms(u.nextRunAt)).toBeGreaterThan(before);

    const a = await getJob(o, anchored.id);
    expect(a).toMatchObject({
      kind: 'interval',
      schedule: { kind: 'interval', intervalSeconds: 90, scheduleExpression: null, timezone: null },
      nextRunAt: startAt,
      runAt: startAt,
    });

    // Without startAt, the first run is one interval from now.
    const p = await getJob(o, plain.id);
    expect(ms(p.nextRunAt)).toBeGreaterThanOrEqual(before + 600 * SECOND - 1_000);
    expect(ms(p.nextRunAt)).toBeLessThanOrEqual(after + 600 * SECOND + 1_000);

    const once_ = await getJob(o, once.id);
    expect(once_).toMatchObject({ kind: 'once', schedule: null, nextRunAt: null, runAt: future });
    expect(once_.lastOccurrence).toBeUndefined();
  });
});

/**
 * The scheduler at work. The tests of this block run at the same time (each waits through a few seconds of
 * occurrences), with one runner, played here, claiming every `echo` and `sleep` execution and doing with it
 * what the test planned for its job: succeed (default), fail, or hold it RUNNING until released. `noop` is not
 * claimed at all, so its executions stay PENDING.
 */
describe.concurrent('the scheduler, with a runner', () => {
  type Plan = 'succeed' | 'fail' | 'hold';
  const plans = new Map<number, (e: ClaimedExecution) => Plan>();
  const held = new Map<number, ClaimedExecution>();
  let runnerId: string;
  let stop = false;
  let worker: Promise<void>;

  beforeAll(async () => {
    runnerId = await registerRunner(o, { types: ['echo', 'sleep'], capacity: 100 });
    worker = (async () => {
      while (!stop) {
        const got = await claim(o, runnerId, { max: 20, wait: 1 });
        await Promise.all(
          got.map(async (e) => {
            const plan = plans.get(e.jobId)?.(e) ?? 'succeed';
            if (plan === 'hold') held.set(e.id, e);
            else
              await completeOk(
                o,
                runnerId,
                e.id,
                plan === 'fail' ? failed(`planned failure of ${e.id}`) : succeeded(),
              );
          }),
        );
      }
    })();
  });
  afterAll(async () => {
    stop = true;
    await worker;
  });

  async function release(executionId: number, outcome: Outcome = succeeded()) {
    held.delete(executionId);
    await completeOk(o, runnerId, executionId, outcome);
  }
  const heldOf = (jobId: number) => [...held.values()].find((e) => e.jobId === jobId);
  async function cancel(jobId: number) {
    const res = await lifecycle(jobId, 'cancel');
    expect(res.statusCode, res.body).toBe(200);
  }

  test('an every-second cron and a 1 s interval: one occurrence per second, each run once', async () => {
    const t0 = await dbNow();
    const cron = await createJob(o, {
      scheduleExpression: '* * * * * *',
      overlapPolicy: 'allow',
      payload: 'cron',
    });
    const every = await createJob(o, { intervalSeconds: 1, overlapPolicy: 'allow', payload: 'interval' });
    // First runs: the next whole second; one interval from now.
    expect(ms(cron.nextRunAt) % SECOND).toBe(0);
    expect(ms(cron.nextRunAt) - t0).toBeGreaterThan(0);
    expect(ms(cron.nextRunAt) - t0).toBeLessThanOrEqual(SECOND + 500);
    expect(ms(every.nextRunAt) - t0).toBeGreaterThanOrEqual(SECOND - 50);
    expect(ms(every.nextRunAt) - t0).toBeLessThanOrEqual(SECOND + 500);

    for (const job of [cron, every]) {
      const first = ms(job.nextRunAt);
      const third = first + 2 * SECOND;
      // The first three occurrences, each once, one second apart, each run once to success.
      const done = await eventually(
        `${job.kind}: three occurrences run`,
        async () => {
          const xs = (await occurrencesOf(job.id)).filter((x) => x.scheduled_for.getTime() <= third);
          const execs = await executionsOf(job.id);
          const ok = (x: OccurrenceRow) => execs.find((e) => e.id === x.execution_id)?.status === 'SUCCEEDED';
          return xs.length === 3 && xs.every(ok) ? xs : undefined;
        },
        6_000,
      );
      expect(done.map((x) => x.scheduled_for.getTime())).toEqual([first, first + SECOND, third]);
    }
    await cancel(cron.id);
    await cancel(every.id);

    for (const job of [cron, every]) {
      const first = ms(job.nextRunAt);
      const occ = await occurrencesOf(job.id);
      // Nothing in between or twice, later ones on the same grid, every one run (overlap allow).
      expect(
        occ.slice(0, 3).map((x) => x.scheduled_for.getTime()),
        job.kind,
      ).toEqual([first, first + SECOND, first + 2 * SECOND]);
      occ.forEach((x, i) => {
        expect(x.scheduled_for.getTime()).toBe(first + i * SECOND);
      });
      expect(occ.every((x) => x.status === 'CREATED' && x.execution_id !== null)).toBe(true);

      // Exactly one execution per occurrence (none without one), at its time, attempt 1.
      const execs = await executionsOf(job.id);
      expect(execs.map((x) => x.id).sort()).toEqual(occ.map((x) => x.execution_id).sort());
      const byId = new Map(execs.map((x) => [x.id, x]));
      for (const x of occ) {
        const e = byId.get(x.execution_id!)!;
        expect(e.scheduled_for.getTime()).toBe(x.scheduled_for.getTime());
        expect(e.attempt).toBe(1);
      }
      for (const x of occ.slice(0, 3)) expect(byId.get(x.execution_id!)!.status).toBe('SUCCEEDED');

      const shown = await getJob(o, job.id);
      expect(shown.lastOccurrence).toMatchObject({
        scheduledFor: occ.at(-1)!.scheduled_for.toISOString(),
        status: 'CREATED',
        executionId: occ.at(-1)!.execution_id,
      });
      expect(shown.lastExecution).toMatchObject({ id: execs.at(-1)!.id, attempt: 1 });
    }
  });

  test('pause: no new occurrences and pending ones cancelled; resume: from the next occurrence after now, no burst', async () => {
    // noop: nobody claims it, so each occurrence leaves a PENDING execution (overlap allow: they pile up).
    const job = await createJob(o, {
      type: 'noop',
      scheduleExpression: '* * * * * *',
      overlapPolicy: 'allow',
    });
    await eventually('two occurrences', async () =>
      (await occurrencesOf(job.id)).length >= 2 ? true : undefined,
    );

    const paused = await lifecycle(job.id, 'pause');
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ status: 'PAUSED', nextRunAt: null });
    const pausedAt = await dbNow();
    const atPause = await occurrencesOf(job.id);
    const execs = await executionsOf(job.id);
    expect(execs.length).toBeGreaterThanOrEqual(2);
    expect(execs.map((e) => [e.status, e.error])).toEqual(execs.map(() => ['CANCELLED', 'job paused']));
    // Pausing again changes nothing.
    expect((await lifecycle(job.id, 'pause')).statusCode).toBe(200);

    await sleep(2_000);
    expect(await occurrencesOf(job.id)).toEqual(atPause);
    expect(await getJob(o, job.id)).toMatchObject({ status: 'PAUSED', nextRunAt: null });

    const resumeAt = await dbNow();
    const resumed = await lifecycle(job.id, 'resume');
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json().status).toBe('SCHEDULED');
    const next = ms(resumed.json().nextRunAt);
    expect(next).toBeGreaterThan(resumeAt);
    expect(next).toBeLessThanOrEqual(resumeAt + SECOND);
    expect(next).toBeGreaterThan(pausedAt + 2_000);

    const fresh = await eventually(
      'two occurrences after the resume',
      async () => {
        const xs = (await occurrencesOf(job.id)).slice(atPause.length);
        return xs.length >= 2 ? xs : undefined;
      },
      5_000,
    );
    const elapsed = (await dbNow()) - resumeAt;
    // The two seconds of the pause are not made up for: only occurrences after the resume, one per second.
    expect(fresh.length).toBeLessThanOrEqual(Math.floor(elapsed / SECOND) + 1);
    expect(fresh.map((x) => x.scheduled_for.getTime())).toEqual(fresh.map((_, i) => next + i * SECOND));
    for (const x of fresh) expect(x.scheduled_for.getTime()).toBeGreaterThan(resumeAt);
    expect(fresh.every((x) => x.status === 'CREATED')).toBe(true);
    await cancel(job.id);
  });

  test('trigger: an extra occurrence now; the schedule and its next run are unchanged', async () => {
    const job = await createJob(o, { intervalSeconds: 3_600, payload: 'hourly' });
    const before = await dbNow();
    const res = await lifecycle(job.id, 'trigger');
    expect(res.statusCode, res.body).toBe(202);
    const e = res.json();
    expect(e).toMatchObject({ jobId: job.id, attempt: 1 });
    expect(ms(e.scheduledFor)).toBeGreaterThanOrEqual(before - 5);
    expect(ms(e.scheduledFor)).toBeLessThanOrEqual(await dbNow());

    const [occ] = await occurrencesOf(job.id);
    expect(occ).toMatchObject({ status: 'CREATED', reason: 'triggered by hand', execution_id: e.id });
    expect(occ!.scheduled_for.toISOString()).toBe(e.scheduledFor);
    await eventually('the triggered run to succeed', async () =>
      (await executionsOf(job.id))[0]?.status === 'SUCCEEDED' ? true : undefined,
    );

    const second = await lifecycle(job.id, 'trigger');
    expect(second.statusCode, second.body).toBe(202);
    expect(second.json().id).not.toBe(e.id);
    await eventually('both triggered runs to succeed', async () => {
      const xs = await executionsOf(job.id);
      return xs.length === 2 && xs.every((x) => x.status === 'SUCCEEDED') ? true : undefined;
    });
    expect(await occurrencesOf(job.id)).toHaveLength(2);
    const after = await getJob(o, job.id);
    expect(after).toMatchObject({ status: 'SCHEDULED', nextRunAt: job.nextRunAt, schedule: job.schedule });
    await cancel(job.id);
  });

  test('cancel: no more occurrences; the running one is aborted through its runner heartbeat', async () => {
    const job = await createJob(o, {
      type: 'sleep',
      payload: { durationMs: 60_000 },
      scheduleExpression: '* * * * * *',
      overlapPolicy: 'queue',
    });
    plans.set(job.id, () => 'hold');
    const running = await eventually('the first occurrence to be claimed', async () => heldOf(job.id));
    // While it runs, the next occurrence waits in the queue.
    await eventually('an occurrence queued behind the first', async () =>
      (await occurrencesOf(job.id)).some((x) => x.status === 'QUEUED') ? true : undefined,
    );
    expect((await heartbeat(o, runnerId, [running.id])).cancel).toEqual([]);

    const res = await lifecycle(job.id, 'cancel');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'CANCELLED', nextRunAt: null });
    expect((await heartbeat(o, runnerId, [running.id])).cancel).toEqual([running.id]);
    await release(running.id, { status: 'CANCELLED' });

    // What was queued will never run: it is recorded as skipped.
    const atCancel = await occurrencesOf(job.id);
    expect(atCancel[0]).toMatchObject({ status: 'CREATED', execution_id: running.id });
    expect(atCancel.length).toBeGreaterThanOrEqual(2);
    for (const x of atCancel.slice(1))
      expect(x).toMatchObject({ status: 'SKIPPED', reason: 'job cancelled' });
    await sleep(1_500);
    expect(await occurrencesOf(job.id)).toEqual(atCancel);
    expect((await executionsOf(job.id)).map((x) => x.status)).toEqual(['CANCELLED']);
    expect(await getJob(o, job.id)).toMatchObject({ status: 'CANCELLED', nextRunAt: null });
    // Nothing brings a cancelled schedule back.
    for (const action of ['trigger', 'pause', 'resume'] as const) {
      expect((await lifecycle(job.id, action)).statusCode, action).toBe(409);
    }
    expect((await patch(job.id, { intervalSeconds: 1 })).statusCode).toBe(409);
    await sleep(1_100);
    expect(await occurrencesOf(job.id)).toEqual(atCancel);
    expect(await executionsOf(job.id)).toHaveLength(1);
  });

  test('PATCH recomputes the next run from now, and the new schedule is the one that runs', async () => {
    const job = await createJob(o, { intervalSeconds: 3_600 });

    let before = await dbNow();
    let res = await patch(job.id, { intervalSeconds: 7_200 });
    let after = await dbNow();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().schedule).toMatchObject({ kind: 'interval', intervalSeconds: 7_200 });
    expect(ms(res.json().nextRunAt)).toBeGreaterThanOrEqual(before + 7_200 * SECOND);
    expect(ms(res.json().nextRunAt)).toBeLessThanOrEqual(after + 7_200 * SECOND);

    res = await patch(job.id, { scheduleExpression: '0 9 * * *', timezone: 'America/New_York' });
    after = await dbNow();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      kind: 'cron',
      schedule: {
        kind: 'cron',
        scheduleExpression: '0 9 * * *',
        timezone: 'America/New_York',
        intervalSeconds: null,
      },
    });
    const nine = nextOccurrence(
      { kind: 'cron', expression: '0 9 * * *', timezone: 'America/New_York' },
      new Date(after),
    );
    expect(ms(res.json().nextRunAt)).toBe(nine!.getTime());

    res = await patch(job.id, { overlapPolicy: 'queue', catchUpPolicy: 'skip' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      schedule: { scheduleExpression: '0 9 * * *', overlapPolicy: 'queue', catchUpPolicy: 'skip' },
      nextRunAt: nine!.toISOString(),
    });

    // Paused, a change is kept for later: the job stays paused, and resumes on the new schedule.
    expect((await lifecycle(job.id, 'pause')).statusCode).toBe(200);
    res = await patch(job.id, { intervalSeconds: 5 });
    expect(res.json()).toMatchObject({ status: 'PAUSED', nextRunAt: null, schedule: { intervalSeconds: 5 } });
    before = await dbNow();
    res = await lifecycle(job.id, 'resume');
    expect(ms(res.json().nextRunAt)).toBeGreaterThan(before);
    expect(ms(res.json().nextRunAt)).toBeLessThanOrEqual(before + 5 * SECOND);

    // Down to one second: the next run is a second from now, and it happens, then every second after it.
    before = await dbNow();
    res = await patch(job.id, { intervalSeconds: 1 });
    after = await dbNow();
    const next = ms(res.json().nextRunAt);
    expect(next).toBeGreaterThanOrEqual(before + SECOND);
    expect(next).toBeLessThanOrEqual(after + SECOND);
    const occ = await eventually(
      'two occurrences on the new interval',
      async () => {
        const xs = await occurrencesOf(job.id);
        return xs.length >= 2 ? xs : undefined;
      },
      5_000,
    );
    expect(occ.slice(0, 2).map((x) => x.scheduled_for.getTime())).toEqual([next, next + SECOND]);
    await cancel(job.id);
  });

  test('a failing recurring job: the occurrence is dead-lettered, the job stays SCHEDULED, the next one runs', async () => {
    const job = await createJob(o, {
      type: 'sleep',
      payload: { durationMs: 0, failAttempts: 99 },
      maxAttempts: 1,
      intervalSeconds: 1,
    });
    plans.set(job.id, () => 'fail');
    const execs = await eventually(
      'three occurrences to fail',
      async () => {
        const xs = await executionsOf(job.id);
        return xs.filter((x) => x.status === 'FAILED').length >= 3 ? xs : undefined;
      },
      8_000,
    );
    const shown = await getJob(o, job.id);
    expect(shown.status).not.toBe('FAILED');
    expect(['SCHEDULED', 'RUNNING']).toContain(shown.status);
    expect(shown.finishedAt).toBeNull();
    expect(shown.nextRunAt).not.toBeNull();
    await cancel(job.id);

    const failedOnes = execs.filter((x) => x.status === 'FAILED');
    // One attempt per occurrence (maxAttempts 1), each one an occurrence of its own, each claimed and run.
    const occ = await occurrencesOf(job.id);
    for (const x of failedOnes) {
      expect(x.attempt).toBe(1);
      expect(x.claimed_at).not.toBeNull();
      expect(occ.find((y) => y.execution_id === x.id)?.status).toBe('CREATED');
    }
    const res = await send('GET', '/dead-letters?limit=500');
    const letters = (res.json().items as { jobId: number; executionId: number }[]).filter(
      (d) => d.jobId === job.id,
    );
    expect(letters.map((d) => d.executionId).sort()).toEqual(
      expect.arrayContaining(failedOnes.map((x) => x.id).sort()),
    );
    // The later occurrences ran after the earlier ones were dead-lettered.
    expect(failedOnes[1]!.claimed_at!.getTime()).toBeGreaterThanOrEqual(
      failedOnes[0]!.finished_at!.getTime(),
    );
  });

  /**
   * A 1 s interval job whose first execution the runner holds for a few occurrences, then completes; later ones
   * complete at once.
   */
  async function overlapRun(overlapPolicy: 'skip' | 'queue' | 'allow') {
    const job = await createJob(o, {
      type: 'sleep',
      payload: { durationMs: 0 },
      intervalSeconds: 1,
      overlapPolicy,
    });
    let firstId: number | undefined;
    plans.set(job.id, (e) => {
      if (firstId !== undefined) return 'succeed';
      firstId = e.id;
      return 'hold';
    });
    const first = await eventually('the first occurrence to be claimed', async () => heldOf(job.id));
    // Two more occurrences fall due while it runs.
    const during = await eventually(
      'two occurrences while the first runs',
      async () => {
        const xs = (await occurrencesOf(job.id)).filter((x) => x.execution_id !== first.id);
        return xs.length >= 2 ? xs : undefined;
      },
      5_000,
    );
    await release(first.id);
    const firstDone = (await executionsOf(job.id)).find((x) => x.id === first.id)!.finished_at!.getTime();
    // Then until an occurrence due after the release has run.
    await eventually(
      'an occurrence after the release to run',
      async () => {
        const xs = await occurrencesOf(job.id);
        const execs = await executionsOf(job.id);
        const ran = xs.some(
          (x) =>
            x.scheduled_for.getTime() > firstDone &&
            execs.find((e) => e.id === x.execution_id)?.status === 'SUCCEEDED',
        );
        return ran ? true : undefined;
      },
      5_000,
    );
    await cancel(job.id);
    return {
      job,
      first,
      during,
      firstDone,
      occ: await occurrencesOf(job.id),
      execs: await executionsOf(job.id),
    };
  }

  test('overlap skip: occurrences due while the previous one runs are skipped, with the reason', async () => {
    const { during, execs, first, firstDone, occ, job } = await overlapRun('skip');
    // Skipped one after the other while the same one ran: one row for all of them (issue 10, defect 8).
    const skippedRows = (await occurrenceRowsOf(job.id)).filter((x) => x.status === 'SKIPPED');
    expect(skippedRows).toHaveLength(1);
    expect(skippedRows[0]!.occurrence_count).toBeGreaterThanOrEqual(2);
    const whileBusy = occ.filter((x) => x.scheduled_for.getTime() < firstDone && x.execution_id !== first.id);
    expect(whileBusy.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeGreaterThanOrEqual(2);
    for (const x of whileBusy) {
      expect(x).toMatchObject({
        status: 'SKIPPED',
        reason: 'the previous occurrence was still running (overlap: skip)',
        execution_id: null,
      });
    }
    // Nothing else ran while the first did; afterwards occurrences run again.
    for (const e of execs.filter((x) => x.id !== first.id)) {
      expect(e.claimed_at!.getTime()).toBeGreaterThanOrEqual(firstDone);
    }
    expect(occ.some((x) => x.status === 'CREATED' && x.scheduled_for.getTime() > firstDone)).toBe(true);
  });

  test('overlap queue: they wait, and start once the previous one completes, one at a time', async () => {
    const { during, execs, first, firstDone, occ } = await overlapRun('queue');
    expect(during[0]).toMatchObject({
      status: 'QUEUED',
      reason: 'waits for the previous occurrence (overlap: queue)',
    });
    const whileBusy = occ.filter((x) => x.scheduled_for.getTime() < firstDone && x.execution_id !== first.id);
    expect(whileBusy.length).toBeGreaterThanOrEqual(2);
    // The first queued one started after the first completed (not at its own time) and ran.
    const queued = whileBusy[0]!;
    expect(queued).toMatchObject({ status: 'CREATED', reason: 'ran after the previous occurrence finished' });
    const started = execs.find((e) => e.id === queued.execution_id)!;
    expect(started.created_at.getTime()).toBeGreaterThanOrEqual(firstDone);
    expect(started.status).toBe('SUCCEEDED');
    // Never two at once: each execution was claimed after the one before it finished.
    const ran = execs
      .filter((e) => e.claimed_at)
      .sort((a, b) => a.claimed_at!.getTime() - b.claimed_at!.getTime());
    for (let i = 1; i < ran.length; i++) {
      expect(ran[i]!.claimed_at!.getTime()).toBeGreaterThanOrEqual(ran[i - 1]!.finished_at!.getTime());
    }
  });

  test('overlap allow: occurrences run while the previous one still runs', async () => {
    const { during, execs, first, firstDone } = await overlapRun('allow');
    for (const x of during.slice(0, 2)) {
      expect(x.status).toBe('CREATED');
      const e = execs.find((y) => y.id === x.execution_id)!;
      // Claimed while the first was still running (times are read to the millisecond, PostgreSQL keeps
      // microseconds: a claim just before the finish can show the same millisecond).
      expect(e.claimed_at!.getTime()).toBeLessThanOrEqual(firstDone);
      expect(e.status).toBe('SUCCEEDED');
    }
    expect(execs.find((e) => e.id === first.id)!.status).toBe('SUCCEEDED');
  });
});
