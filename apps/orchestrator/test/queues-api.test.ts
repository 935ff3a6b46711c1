import { setTimeout as sleep } from 'node:timers/promises';
import type { TestOrchestrator } from '@hourglass/testkit/orchestrator';
import { sql } from 'kysely';
import { expect, test } from 'vitest';
import {
  claim,
  completeOk,
  createJob,
  createJobs,
  eventually,
  failed,
  registerRunner,
  replicasPerFile,
  succeeded,
} from './helpers.js';

/** Queues (issue 14): settings, live counts, pause and resume across replicas, runners serving some queues. */

const [a, b] = replicasPerFile();

const call = async (o: TestOrchestrator, method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) => {
  const res = await o.app.inject({ method, url, ...(payload ? { payload } : {}) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

test('a job names its queue (default `default`); the queue is listed with settings and live counts', async () => {
  const plain = await createJob(a, {});
  expect(plain.queue).toBe('default');
  const runner = await registerRunner(a, { name: 'counts', capacity: 10 });
  // A delayed one (scheduled), one to fail (failed), one to claim (running), one left due.
  await createJob(a, { queue: 'counts', delayMs: 3_600_000 });
  const doomed = await createJob(a, { queue: 'counts', maxAttempts: 1, priority: 10 });
  await createJob(a, { queue: 'counts', priority: 5 });
  await createJob(a, { queue: 'counts', concurrencyKey: 'acme' });
  // Drain the default queue first, so the claims below take the counts queue's jobs in priority order.
  await call(a, 'POST', '/queues/default/pause');
  const [first] = await claim(a, runner, { max: 1 });
  expect(first!.jobId).toBe(doomed.id);
  await completeOk(a, runner, first!.id, failed());
  await claim(a, runner, { max: 1 });
  const q = await call(a, 'GET', '/queues/counts');
  expect(q).toMatchObject({
    name: 'counts',
    paused: false,
    concurrency: null,
    perKeyConcurrency: null,
    rateLimit: null,
    counts: { due: 1, running: 1, scheduled: 1, failed: 1 },
    countsCapped: false,
  });
  const list = await call(a, 'GET', '/queues');
  expect(list.items.map((i: { name: string }) => i.name)).toEqual(
    expect.arrayContaining(['counts', 'default']),
  );
  expect(list.items.find((i: { name: string }) => i.name === 'default').paused).toBe(true);
  await call(a, 'POST', '/queues/default/resume');

  const configured = await call(a, 'PUT', '/queues/counts', {
    concurrency: 5,
    perKeyConcurrency: 1,
    rateLimit: { limit: 10, periodMs: 1000 },
  });
  expect(configured).toMatchObject({
    concurrency: 5,
    perKeyConcurrency: 1,
    rateLimit: { limit: 10, periodMs: 1000, perKey: false },
  });
  // PUT replaces the settings: a field left out is no limit.
  expect(await call(a, 'PUT', '/queues/counts', { concurrency: 2 })).toMatchObject({
    concurrency: 2,
    perKeyConcurrency: null,
    rateLimit: null,
  });
});

test('bad input: a queue name or settings out of shape are a 400 naming the field; an unknown queue a 404', async () => {
  const bad = await a.app.inject({
    method: 'POST',
    url: '/jobs',
    payload: { type: 'echo', queue: 'Not A Name' },
  });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().errors[0].field).toBe('queue');
  const settings = await a.app.inject({ method: 'PUT', url: '/queues/x', payload: { concurrency: 0 } });
  expect(settings.statusCode).toBe(400);
  expect(settings.json().errors[0].field).toBe('concurrency');
  const rate = await a.app.inject({ method: 'PUT', url: '/queues/x', payload: { rateLimit: { limit: 5 } } });
  expect(rate.statusCode).toBe(400);
  expect(rate.json().errors[0].field).toBe('rateLimit.periodMs');
  expect((await a.app.inject({ method: 'GET', url: '/queues/never-used' })).statusCode).toBe(404);
  expect((await a.app.inject({ method: 'GET', url: `/queues/q${'x'.repeat(150)}` })).statusCode).toBeLessThan(
    500,
  );
});

test('pause stops claims at once, on every replica; running executions finish; resume wakes a waiting runner', async () => {
  await createJobs(
    a,
    Array.from({ length: 300 }, () => ({ queue: 'pausable' })),
  );
  const runners = await Promise.all(
    [a, b, a, b].map(async (o, i) => ({ o, id: await registerRunner(o, { name: `p${i}`, capacity: 2 }) })),
  );
  const claimedCount = async () =>
    (
      await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM executions WHERE queue = 'pausable' AND claimed_at IS NOT NULL
      `.execute(a.db)
    ).rows[0]!.n;
  let stop = false;
  const held: { o: TestOrchestrator; runner: string; id: number }[] = [];
  // Claimers keep claiming (and keep what they get: it stays RUNNING) until told to stop.
  const loops = runners.map(async ({ o, id }) => {
    while (!stop) {
      for (const e of await claim(o, id, { max: 1, wait: 0 })) held.push({ o, runner: id, id: e.id });
      await sleep(5);
    }
  });
  while ((await claimedCount()) < 10) await sleep(5);
  await call(a, 'POST', '/queues/pausable/pause');
  const atPause = await claimedCount();
  await sleep(400);
  expect(await claimedCount(), 'no claim after the pause answered').toBe(atPause);
  stop = true;
  await Promise.all(loops);
  // What ran when the queue was paused finishes.
  for (const h of held.slice(0, 3)) await completeOk(h.o, h.runner, h.id, succeeded());
  expect((await call(b, 'GET', '/queues/pausable')).paused).toBe(true);

  // A runner long-polling on replica b is served as soon as a resumes the queue.
  const waiter = claim(b, runners[1]!.id, { max: 1, wait: 20 });
  await sleep(200);
  const resumedAt = Date.now();
  await call(a, 'POST', '/queues/pausable/resume');
  const got = await waiter;
  expect(got).toHaveLength(1);
  expect(Date.now() - resumedAt).toBeLessThan(10_000);
}, 60_000);

test('a runner serving some queues gets only their jobs; one serving all gets the rest', async () => {
  const onlyA = (
    await a.app.inject({
      method: 'POST',
      url: '/runners/register',
      payload: { name: 'only-a', host: 'h', types: ['subset'], capacity: 10, queues: ['subset-a'] },
    })
  ).json().id;
  const jobs = await createJobs(a, [
    { type: 'subset', queue: 'subset-a' },
    { type: 'subset', queue: 'subset-b' },
    { type: 'subset', queue: 'subset-a' },
    { type: 'subset', queue: 'subset-b' },
  ]);
  const mine = await claim(a, onlyA, { max: 10 });
  expect(mine.map((e) => e.jobId).sort()).toEqual([jobs[0]!.id, jobs[2]!.id].sort());
  expect(await claim(b, onlyA, { max: 10 })).toEqual([]);
  const listed = await call(a, 'GET', '/runners');
  expect(listed.items.find((r: { id: string }) => r.id === onlyA).queues).toEqual(['subset-a']);
  const any = await registerRunner(b, { name: 'any', types: ['subset'], capacity: 10 });
  const rest = await claim(b, any, { max: 10 });
  expect(rest.map((e) => e.jobId).sort()).toEqual([jobs[1]!.id, jobs[3]!.id].sort());
});

test('configuring, pausing and resuming a queue are events on the stream (queue.*)', async () => {
  await call(a, 'PUT', '/queues/evented', { concurrency: 3, rateLimit: { limit: 10, periodMs: 1000 } });
  await call(b, 'POST', '/queues/evented/pause');
  await call(a, 'POST', '/queues/evented/resume');
  const events = await eventually('the three queue events', async () => {
    const r = await a.app.inject({ method: 'GET', url: '/events?kinds=queue.*&after=0&follow=false' });
    const all = r.body
      .split('\n\n')
      .filter((m) => m.startsWith('id: '))
      .map((m) => JSON.parse(m.split('\n')[2]!.slice('data: '.length)))
      .filter((e) => e.data.queue === 'evented');
    return all.length >= 3 ? all : undefined;
  });
  expect(events.map((e) => e.kind)).toEqual(['queue.configured', 'queue.paused', 'queue.resumed']);
  expect(events[0].data).toEqual({
    queue: 'evented',
    paused: false,
    concurrency: 3,
    perKeyConcurrency: null,
    rateLimit: { limit: 10, periodMs: 1000, perKey: false },
  });
});
