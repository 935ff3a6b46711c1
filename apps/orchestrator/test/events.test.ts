import type { HourglassEvent } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { markSilentRunnersOffline } from '../src/queue/mark-silent-runners-offline.js';
import { sequenceEvents } from '../src/queue/sequence-events.js';
import {
  claimOne,
  completeOk,
  createJob,
  createJobs,
  eventually,
  failed,
  heartbeat,
  registerRunner,
  succeeded,
} from './helpers.js';
import { SseReader } from './sse.js';

/**
 * The event stream (issue 13) over real sockets: what each change emits, in order, resumed across reconnects and
 * across two replicas on one database, filtered, and the outbox's numbering under transactions committing out of
 * order.
 */

let o: TestOrchestrator;
const readers: SseReader[] = [];

beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true });
});
afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  o?.app.server.closeAllConnections();
  if (o) await stopTestOrchestrator(o);
});

const follow = (target: TestOrchestrator, query = '', headers: Record<string, string> = {}) => {
  const r = new SseReader(`${target.url}/events${query ? `?${query}` : ''}`, headers);
  readers.push(r);
  return r;
};

/** The last event id numbered so far. */
const head = async (target = o) =>
  Number(
    (await sql<{ last_id: number }>`SELECT last_id FROM event_sequencer`.execute(target.db)).rows[0]!.last_id,
  );

/** Every event numbered after `after`, as the table holds them. */
const stored = async (after: number, target = o) =>
  (
    await sql<{
      id: number;
      kind: string;
    }>`SELECT id, kind FROM events WHERE id > ${after} ORDER BY id`.execute(target.db)
  ).rows;

const kindsOf = (events: HourglassEvent[]) => events.map((e) => e.kind);

const increasing = (ids: number[]) => ids.every((id, i) => i === 0 || id > ids[i - 1]!);

describe('what each change emits', () => {
  test('a job walked through claim, fail, retry, dead letter, requeue and success, in order', async () => {
    const runner = await registerRunner(o, { types: ['walk'] });
    const job = await createJob(o, { type: 'walk', maxAttempts: 2, backoff: { initialDelayMs: 0 } });
    const stream = follow(o, `jobId=${job.id}&after=0`);

    const first = await claimOne(o, runner);
    await completeOk(o, runner, first.id, failed('first'));
    const second = await claimOne(o, runner);
    await completeOk(o, runner, second.id, failed('second'));
    const dead = await o.app.inject({ method: 'GET', url: '/dead-letters' });
    const letter = dead.json().items.find((d: { jobId: number }) => d.jobId === job.id);
    const requeued = await o.app.inject({ method: 'POST', url: `/dead-letters/${letter.id}/requeue` });
    expect(requeued.statusCode, requeued.body).toBe(202);
    const third = await claimOne(o, runner);
    await completeOk(o, runner, third.id, succeeded({ n: 3 }));

    const events = await stream.waitFor((es) => es.some((e) => e.kind === 'job.succeeded'));
    expect(kindsOf(events)).toEqual([
      'job.created',
      'execution.claimed',
      'execution.failed',
      'execution.retry_scheduled',
      'execution.claimed',
      'execution.failed',
      'job.dead_lettered',
      'job.failed',
      'job.requeued',
      'execution.claimed',
      'execution.succeeded',
      'job.succeeded',
    ]);
    expect(increasing(events.map((e) => e.id))).toBe(true);
    expect(stream.errors).toEqual([]);
    for (const e of events) expect(e).toMatchObject({ jobId: job.id, jobType: 'walk' });
    const [, claimed, failedOnce, retry, , , deadLettered, jobFailed, requeue, , ok] = events;
    expect(claimed).toMatchObject({ executionId: first.id, runnerId: runner, data: { attempt: 1 } });
    expect(failedOnce).toMatchObject({
      executionId: first.id,
      data: { status: 'FAILED', attempt: 1, error: 'first' },
    });
    expect(retry).toMatchObject({ executionId: second.id, data: { attempt: 2 } });
    expect(deadLettered).toMatchObject({
      executionId: second.id,
      data: { deadLetterId: letter.id, attempts: 2, error: 'second' },
    });
    expect(jobFailed!.data).toMatchObject({ status: 'FAILED' });
    expect(requeue).toMatchObject({
      executionId: third.id,
      data: { deadLetterId: letter.id, status: 'SCHEDULED' },
    });
    expect(ok).toMatchObject({ executionId: third.id, data: { status: 'SUCCEEDED', resultBytes: 8 } });
    await stream.close();
  });

  test('commands: trigger, cancel (once), pause, resume, reschedule and delete', async () => {
    const recurring = await createJob(o, { type: 'cmd', intervalSeconds: 3600 });
    const once = await createJob(o, { type: 'cmd', delayMs: 3_600_000 });
    const stream = follow(o, `type=cmd&kinds=job.*&after=0`);
    const post = (url: string, payload?: object) => o.app.inject({ method: 'POST', url, payload });
    expect((await post(`/jobs/${once.id}/trigger`)).statusCode).toBe(202);
    expect((await post(`/jobs/${once.id}/cancel`)).statusCode).toBe(200);
    // Cancelling again changes nothing, and emits nothing.
    expect((await post(`/jobs/${once.id}/cancel`)).statusCode).toBe(200);
    expect((await post(`/jobs/${recurring.id}/pause`)).statusCode).toBe(200);
    expect((await post(`/jobs/${recurring.id}/resume`)).statusCode).toBe(200);
    const patched = await o.app.inject({
      method: 'PATCH',
      url: `/jobs/${recurring.id}`,
      payload: { intervalSeconds: 7200 },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await o.app.inject({ method: 'DELETE', url: `/jobs/${once.id}` })).statusCode).toBe(204);

    const events = await stream.waitFor((es) => es.some((e) => e.kind === 'job.deleted'));
    expect(events.map((e) => [e.kind, e.jobId])).toEqual([
      ['job.created', recurring.id],
      ['job.created', once.id],
      ['job.triggered', once.id],
      ['job.cancelled', once.id],
      ['job.paused', recurring.id],
      ['job.resumed', recurring.id],
      ['job.rescheduled', recurring.id],
      ['job.deleted', once.id],
    ]);
    expect(events[3]!.data).toEqual({ from: 'SCHEDULED', status: 'CANCELLED' });
    await stream.close();
  });

  test('a runner online, draining, then offline', async () => {
    const stream = follow(o, `kinds=runner.*&after=${await head()}`);
    const runner = await registerRunner(o, { types: ['runner-walk'], name: 'walker' });
    expect((await o.app.inject({ method: 'POST', url: `/runners/${runner}/drain` })).statusCode).toBe(202);
    expect((await heartbeat(o, runner)).drain).toBe(true);
    expect((await o.app.inject({ method: 'DELETE', url: `/runners/${runner}` })).statusCode).toBe(200);
    const events = await stream.waitFor((es) =>
      es.some((e) => e.kind === 'runner.offline' && e.runnerId === runner),
    );
    expect(events.filter((e) => e.runnerId === runner).map((e) => e.kind)).toEqual([
      'runner.online',
      'runner.draining',
      'runner.offline',
    ]);
    expect(events[0]!.data).toMatchObject({ name: 'walker', types: ['runner-walk'] });
    await stream.close();
  });

  test('a silent runner goes offline, and online again when it heartbeats', async () => {
    const stream = follow(o, `kinds=runner.*&after=${await head()}`);
    const runner = await registerRunner(o, { types: ['silent'] });
    // Silent for an hour: the liveness statement marks it OFFLINE. Called here, not by its loop, so nothing tells the
    // sequencer: its safety-net round numbers the event.
    await sql`UPDATE runners SET last_heartbeat_at = now() - interval '1 hour' WHERE id = ${runner}`.execute(
      o.db,
    );
    expect(await markSilentRunnersOffline(o.db, 30_000)).toContain(runner);
    await stream.waitFor((es) => es.some((e) => e.kind === 'runner.offline' && e.runnerId === runner));
    await heartbeat(o, runner);
    const events = await stream.waitFor((es) => es.filter((e) => e.runnerId === runner).length === 3);
    expect(events.filter((e) => e.runnerId === runner).map((e) => [e.kind, e.data.reason])).toEqual([
      ['runner.online', undefined],
      ['runner.offline', 'silent'],
      ['runner.online', 'heartbeat resumed'],
    ]);
    await stream.close();
  });

  test('a timer firing, and a lease timing out', async () => {
    const runner = await registerRunner(o, { types: ['webhook'] });
    const timer = await o.app.inject({
      method: 'POST',
      url: '/timers',
      payload: { seconds: 1, url: 'https://example.com/hook' },
    });
    expect(timer.statusCode, timer.body).toBe(201);
    const id = timer.json().id as number;
    const stream = follow(o, `jobId=${id}&after=0`);
    const execution = await claimOne(o, runner, 10);
    await completeOk(o, runner, execution.id, succeeded({ status: 200 }));
    const events = await stream.waitFor((es) => es.some((e) => e.kind === 'job.succeeded'));
    expect(kindsOf(events)).toEqual([
      'job.created',
      'execution.claimed',
      'execution.succeeded',
      'timer.fired',
      'job.succeeded',
    ]);
    await stream.close();

    // A lease that expires (its runner went silent): the reaper times the execution out, and a retry follows.
    const lease = await createJob(o, { type: 'webhook', payload: { url: 'https://example.com/x' } });
    const leased = follow(o, `jobId=${lease.id}&after=0`);
    const held = await claimOne(o, runner);
    await sql`UPDATE executions SET lease_expires_at = now() - interval '1 second' WHERE id = ${held.id}`.execute(
      o.db,
    );
    const reaped = await leased.waitFor((es) => es.some((e) => e.kind === 'execution.retry_scheduled'));
    expect(kindsOf(reaped)).toEqual([
      'job.created',
      'execution.claimed',
      'execution.timed_out',
      'execution.retry_scheduled',
    ]);
    expect(reaped[2]).toMatchObject({
      executionId: held.id,
      runnerId: runner,
      data: { status: 'TIMED_OUT' },
    });
    await leased.close();
  });

  test('a schedule occurrence materialised by the scheduler', async () => {
    const job = await createJob(o, { type: 'every-second', intervalSeconds: 1 });
    const stream = follow(o, `jobId=${job.id}&kinds=schedule.occurrence&after=0`);
    const [occurrence] = await stream.waitFor((es) => es.length > 0, 15_000);
    expect(occurrence).toMatchObject({ kind: 'schedule.occurrence', jobId: job.id, jobType: 'every-second' });
    expect(occurrence!.executionId).toBeGreaterThan(0);
    expect(Date.parse(occurrence!.data.scheduledFor as string)).toBeGreaterThan(Date.parse(job.createdAt));
    expect((await o.app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` })).statusCode).toBe(200);
    await stream.close();
  });
});

describe('order and resume', () => {
  test('a stream without a cursor starts with new events only, in increasing id order', async () => {
    await createJob(o, { type: 'before-stream' });
    const stream = follow(o, 'type=during-stream');
    await eventually('the stream to be connected', async () =>
      stream.comments.length > 0 ? true : undefined,
    );
    const jobs = await createJobs(
      o,
      Array.from({ length: 300 }, () => ({ type: 'during-stream' })),
    );
    const events = await stream.waitFor((es) => es.length >= 300);
    expect(events.every((e) => e.jobType === 'during-stream')).toBe(true);
    expect(events.map((e) => e.jobId).sort((a, b) => a! - b!)).toEqual(jobs.map((j) => j.id));
    expect(increasing(events.map((e) => e.id))).toBe(true);
    await stream.close();
  });

  test('Last-Event-ID resumes a stream: nothing missed, nothing twice, while writers run concurrently', async () => {
    const start = await head();
    const first = follow(o, `after=${start}`);
    let writing = true;
    const writers = (async () => {
      let n = 0;
      while (writing || n < 10) {
        await createJobs(
          o,
          Array.from({ length: 20 }, () => ({ type: 'resume' })),
        );
        n++;
      }
    })();
    await first.waitFor((es) => es.length >= 100);
    await first.close();
    const resumedAt = first.lastId!;
    const second = follow(o, `after=${start}`, { 'last-event-id': String(resumedAt) });
    writing = false;
    await writers;
    const last = await eventually('every event to be numbered', async () => {
      const rows = await stored(start);
      const outbox = await sql<{ n: number }>`SELECT count(*)::int AS n FROM event_outbox`.execute(o.db);
      return outbox.rows[0]!.n === 0 ? rows : undefined;
    });
    const lastId = last.at(-1)!.id;
    await second.waitFor((es) => es.some((e) => e.id >= lastId));
    // Events after `lastId` (a runner of another test going offline) may have arrived since; they are not compared.
    const seen = [...first.events, ...second.events].map((e) => e.id).filter((id) => id <= lastId);
    expect(second.events[0]!.id).toBeGreaterThan(resumedAt);
    expect(seen).toEqual(last.map((r) => r.id));
    await second.close();
  });

  test('two replicas on one database: a client switching replicas with Last-Event-ID misses nothing', async () => {
    const b = await startTestOrchestrator({ listen: true, database: o.database });
    try {
      const start = await head();
      const onB = follow(b, `type=replicas&after=${start}`);
      // Writes on both replicas; the stream of B sees those of A too.
      await createJobs(
        o,
        Array.from({ length: 50 }, () => ({ type: 'replicas' })),
      );
      await createJobs(
        b,
        Array.from({ length: 50 }, () => ({ type: 'replicas' })),
      );
      await onB.waitFor((es) => es.length >= 60);
      await onB.close();
      await createJobs(
        b,
        Array.from({ length: 50 }, () => ({ type: 'replicas' })),
      );
      const onA = follow(o, 'type=replicas', { 'last-event-id': String(onB.lastId) });
      await createJobs(
        o,
        Array.from({ length: 50 }, () => ({ type: 'replicas' })),
      );
      await onA.waitFor((es) => onB.events.length + es.length >= 200);
      const seen = [...onB.events, ...onA.events];
      expect(new Set(seen.map((e) => e.jobId)).size).toBe(200);
      expect(increasing(seen.map((e) => e.id))).toBe(true);
      await onA.close();

      // A replica shutting down ends its streams cleanly; the client resumes on the other one.
      const closing = follow(b, `type=replicas&after=${start}`);
      await closing.waitFor((es) => es.length === 200);
      await stopTestOrchestrator(b, true);
      expect(await closing.ended).toBe('server');
    } finally {
      await stopTestOrchestrator(b, true).catch(() => {});
    }
  });

  test('outbox visibility: a transaction that commits after a later one is numbered after it, and is not missed', async () => {
    const pool = new pg.Pool({ connectionString: o.database.url, max: 3 });
    const early = await pool.connect();
    const late = await pool.connect();
    try {
      const insert = (c: pg.PoolClient, kind: string) =>
        c.query(
          `INSERT INTO event_outbox (events, n)
           VALUES (ARRAY[ROW('job.created', now(), NULL, NULL, NULL, NULL, jsonb_build_object('tag', $1::text))::outbox_event], 1)`,
          [kind],
        );
      // `early` writes first (the lower outbox seq) but commits last.
      await early.query('BEGIN');
      await insert(early, 'early');
      await late.query('BEGIN');
      await insert(late, 'late');
      await late.query('COMMIT');
      const tagged = async () =>
        (
          await sql<{ id: number; tag: string }>`
            SELECT id, data->>'tag' AS tag FROM events WHERE data ? 'tag' ORDER BY id
          `.execute(o.db)
        ).rows;
      // A reader now sees `late` (whoever numbers it: a sequencer round here, or the replica's own).
      await sequenceEvents(o.db, 1_000);
      const seenFirst = await tagged();
      expect(seenFirst.map((r) => r.tag)).toEqual(['late']);
      const readerCursor = seenFirst[0]!.id;
      await early.query('COMMIT');
      await sequenceEvents(o.db, 1_000);
      // The reader resumes after what it saw and gets `early`: numbered above `late`, never below it.
      const after = (await tagged()).filter((r) => r.id > readerCursor);
      expect(after.map((r) => r.tag)).toEqual(['early']);
    } finally {
      early.release();
      late.release();
      await pool.end();
    }
  });
});

describe('filters and input', () => {
  test('kinds with a prefix, type and jobId narrow the stream', async () => {
    const runner = await registerRunner(o, { types: ['filtered'] });
    const stream = follow(o, `kinds=execution.*,job.succeeded&type=filtered&after=${await head()}`);
    const job = await createJob(o, { type: 'filtered' });
    await createJob(o, { type: 'other-type' });
    const e = await claimOne(o, runner);
    await completeOk(o, runner, e.id, succeeded());
    const events = await stream.waitFor((es) => es.some((x) => x.kind === 'job.succeeded'));
    expect(kindsOf(events)).toEqual(['execution.claimed', 'execution.succeeded', 'job.succeeded']);
    expect(events.every((x) => x.jobId === job.id)).toBe(true);
    await stream.close();
  });

  test('follow=false sends what exists and ends (a plain HTTP answer: curl, app.inject)', async () => {
    const job = await createJob(o, { type: 'history' });
    // Numbered a moment after the create (the sequencer's round): read until it is there.
    const res = await eventually('the event', async () => {
      const r = await o.app.inject({ method: 'GET', url: `/events?jobId=${job.id}&after=0&follow=false` });
      return r.body.includes('event: job.created') ? r : undefined;
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const messages = res.body.split('\n\n').filter((m) => m.startsWith('id: '));
    expect(messages).toHaveLength(1);
    const [idLine, eventLine, dataLine] = messages[0]!.split('\n');
    const event = JSON.parse(dataLine!.slice('data: '.length));
    expect(idLine).toBe(`id: ${event.id}`);
    expect(eventLine).toBe('event: job.created');
    expect(event).toMatchObject({
      kind: 'job.created',
      jobId: job.id,
      jobType: 'history',
      data: { kind: 'once' },
    });
  });

  test.each([
    ['kinds=job.exploded', 'kinds'],
    ['kinds=nothing.*', 'kinds'],
    ['jobId=abc', 'jobId'],
    ['after=-1', 'after'],
    ['type=Not%20A%20Type', 'type'],
    ['colour=red', ''],
    ['follow=maybe', 'follow'],
  ])('GET /events?%s is a 400 naming %s', async (query, field) => {
    const res = await o.app.inject({ method: 'GET', url: `/events?${query}` });
    expect(res.statusCode, res.body).toBe(400);
    if (field) expect(JSON.stringify(res.json().errors)).toContain(field);
  });

  test('a bad Last-Event-ID is a 400 naming it', async () => {
    const res = await o.app.inject({ method: 'GET', url: '/events', headers: { 'last-event-id': 'x' } });
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.stringify(res.json().errors)).toContain('last-event-id');
  });
});

describe('keep-alive', () => {
  test('a quiet stream gets a keep-alive comment every EVENTS_KEEP_ALIVE_MS, and no event', async () => {
    const quiet = await startTestOrchestrator({ listen: true, env: { EVENTS_KEEP_ALIVE_MS: '200' } });
    try {
      const stream = follow(quiet, 'type=nothing-ever');
      await eventually('two keep-alives', async () =>
        stream.comments.filter((c) => c === 'keep-alive').length >= 2 ? true : undefined,
      );
      expect(stream.comments[0]).toMatch(/^connected, after \d+$/);
      expect(stream.events).toEqual([]);
      await stream.close();
    } finally {
      await stopTestOrchestrator(quiet);
    }
  });
});

describe('limits', () => {
  test('past EVENTS_MAX_STREAMS a replica answers 429 with Retry-After; a closed stream frees its place', async () => {
    const small = await startTestOrchestrator({ listen: true, env: { EVENTS_MAX_STREAMS: '2' } });
    try {
      const first = follow(small);
      const second = follow(small);
      expect(await first.status).toBe(200);
      expect(await second.status).toBe(200);
      const refused = await fetch(`${small.url}/events`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
      await first.close();
      await eventually('a place freed by the closed stream', async () => {
        const again = await fetch(`${small.url}/events?follow=false`);
        await again.body?.cancel();
        return again.status === 200 ? true : undefined;
      });
      await second.close();
    } finally {
      small.app.server.closeAllConnections();
      await stopTestOrchestrator(small);
    }
  });
});

describe('scopes', () => {
  const ADMIN = 'bootstrap-admin-key-for-events';
  let secured: TestOrchestrator;
  beforeAll(async () => {
    secured = await startTestOrchestrator({
      listen: true,
      env: { AUTH_DISABLED: 'false', ADMIN_API_KEY: ADMIN },
    });
  });
  afterAll(async () => {
    secured?.app.server.closeAllConnections();
    if (secured) await stopTestOrchestrator(secured);
  });

  const keyWith = async (scopes: string[]) => {
    const res = await secured.app.inject({
      method: 'POST',
      url: '/api-keys',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: scopes.join('+'), scopes },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().key as string;
  };

  test('a runner key gets 403, a client or admin key the stream, no key 401', async () => {
    const runnerKey = await keyWith(['runner']);
    const clientKey = await keyWith(['client']);
    const forbidden = await secured.app.inject({
      method: 'GET',
      url: '/events',
      headers: { authorization: `Bearer ${runnerKey}` },
    });
    expect(forbidden.statusCode).toBe(403);
    expect((await secured.app.inject({ method: 'GET', url: '/events' })).statusCode).toBe(401);
    for (const key of [clientKey, ADMIN]) {
      const stream = follow(secured, 'after=0', { authorization: `Bearer ${key}` });
      expect(await stream.status).toBe(200);
      await stream.close();
    }
  });
});
