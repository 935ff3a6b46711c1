import { HourglassClient, HourglassError } from '@hourglass/client';
import { pickFreePort } from '@hourglass/local-postgres';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { FaultyProxy, type ProxyAction } from './faulty-proxy.js';

/**
 * What a real network does to a call, through a proxy on 127.0.0.1 in front of a real orchestrator: a connection
 * lost after the request went out, a 429 or 503 from an overloaded server, no answer at all. A retried create must
 * never make a second job.
 */

let o: TestOrchestrator;
let direct: HourglassClient;
let proxy: FaultyProxy | undefined;

/** A client that goes through a proxy following `plan`; short backoff so the tests do not idle. */
async function through(plan: (n: number) => ProxyAction, options: { timeoutMs?: number } = {}) {
  proxy = await FaultyProxy.start(o.url, plan);
  return new HourglassClient({ url: proxy.url, retry: { initialDelayMs: 20 }, ...options });
}

const firstThen =
  (first: ProxyAction) =>
  (n: number): ProxyAction =>
    n === 1 ? first : 'forward';

async function jobsWithPayload(marker: string) {
  const found = [];
  for await (const j of direct.listJobs({ type: 'noop' })) {
    if ((j.payload as { marker?: string } | null)?.marker === marker) found.push(j);
  }
  return found;
}

beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true, env: { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' } });
  direct = new HourglassClient({ url: o.url });
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
afterAll(async () => {
  // A request the proxy dropped or never answered can leave Node's fetch a connection the server's close waits on.
  o?.app.server.closeAllConnections();
  if (o) await stopTestOrchestrator(o);
});

test('a create whose answer was lost is retried with the same idempotency key: one job', async () => {
  const hourglass = await through(firstThen('drop'));
  const job = await hourglass.createJob({
    type: 'noop',
    payload: { marker: 'dropped-once' },
    delayMs: 60_000,
  });
  // The server made the job on the first request; the client never saw that answer and sent it again.
  expect(proxy!.requests).toEqual(['POST /jobs', 'POST /jobs']);
  expect((await jobsWithPayload('dropped-once')).map((j) => j.id)).toEqual([job.id]);
});

test('a batch whose answer was lost is retried: the same jobs, no more', async () => {
  const hourglass = await through(firstThen('drop'));
  const jobs = await hourglass.createJobs([
    { type: 'noop', payload: { marker: 'batch-dropped' }, delayMs: 60_000 },
    { type: 'noop', payload: { marker: 'batch-dropped' }, delayMs: 60_000 },
  ]);
  expect(proxy!.requests).toEqual(['POST /jobs/batch', 'POST /jobs/batch']);
  expect((await jobsWithPayload('batch-dropped')).map((j) => j.id).sort()).toEqual(
    jobs.map((j) => j.id).sort(),
  );
});

test('a timer whose answer was lost is retried: one timer', async () => {
  const hourglass = await through(firstThen('drop'));
  const timer = await hourglass.createTimer({ hours: 1, url: 'http://127.0.0.1:9/once' });
  expect(proxy!.requests).toEqual(['POST /timers', 'POST /timers']);
  const timers = [];
  for await (const j of direct.listJobs({ type: 'webhook' })) {
    if ((j.payload as { url?: string }).url === 'http://127.0.0.1:9/once') timers.push(j.id);
  }
  expect(timers).toEqual([timer.id]);
});

test('a state change whose answer was lost is not sent again: it fails with NETWORK_ERROR', async () => {
  const job = await direct.createJob({ type: 'noop', delayMs: 60_000 });
  const hourglass = await through(firstThen('drop'));
  await expect(hourglass.cancelJob(job.id)).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  expect(proxy!.requests).toHaveLength(1);
  // It did happen: the caller finds out by reading.
  expect((await direct.getJob(job.id)).status).toBe('CANCELLED');
});

test('429 is retried after its Retry-After, for any call', async () => {
  const job = await direct.createJob({ type: 'noop', delayMs: 60_000 });
  const hourglass = await through(
    firstThen({
      status: 429,
      headers: { 'retry-after': '1' },
      body: {
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        detail: 'slow down',
        code: 'RATE_LIMITED',
      },
    }),
  );
  const started = Date.now();
  expect((await hourglass.cancelJob(job.id)).status).toBe('CANCELLED');
  expect(proxy!.requests).toHaveLength(2);
  // It waited what the server asked (a lower bound, so a slow machine cannot fail it).
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
});

test('503 is retried for a read, but not for a state change', async () => {
  const job = await direct.createJob({ type: 'noop', delayMs: 60_000 });
  const unavailable: ProxyAction = {
    status: 503,
    body: {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'db down',
      code: 'DATABASE_UNAVAILABLE',
    },
  };
  const reader = await through(firstThen(unavailable));
  expect((await reader.getJob(job.id)).id).toBe(job.id);
  expect(proxy!.requests).toHaveLength(2);
  await proxy!.close();

  const writer = await through(firstThen(unavailable));
  const err = await writer.pauseJob(job.id).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HourglassError);
  expect(err).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', detail: 'db down' });
  expect(proxy!.requests).toHaveLength(1);
});

test('retries are bounded: after the last one the error is the last answer', async () => {
  const hourglass = await through(() => ({ status: 503, body: 'not json' }));
  const err = await hourglass.listRunners().catch((e: unknown) => e);
  // No problem+json (a proxy's answer, say): the status and the text stand in for it.
  expect(err).toMatchObject({ status: 503, code: 'HTTP_503', detail: 'not json' });
  expect(proxy!.requests).toHaveLength(4); // the first attempt and 3 retries
});

test('a server that does not answer: TIMEOUT after timeoutMs, per attempt; retry: false sends once', async () => {
  const hourglass = await through(() => 'hang', { timeoutMs: 200 });
  await expect(hourglass.getJob(1, { timeoutMs: 100 })).rejects.toMatchObject({ status: 0, code: 'TIMEOUT' });
  expect(proxy!.requests).toHaveLength(4);
  await proxy!.close();

  proxy = await FaultyProxy.start(o.url, () => 'hang');
  const once = new HourglassClient({ url: proxy.url, timeoutMs: 100, retry: false });
  await expect(once.listRunners()).rejects.toMatchObject({
    code: 'TIMEOUT',
    detail: 'no answer within 100 ms',
  });
  expect(proxy.requests).toHaveLength(1);
});

test('an AbortSignal ends the call while it waits for an answer, and while it waits to retry', async () => {
  const hanging = await through(() => 'hang');
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await expect(hanging.listRunners({}, { signal: controller.signal })).rejects.toMatchObject({
    name: 'AbortError',
  });
  await proxy!.close();

  const limited = await through(() => ({ status: 429, headers: { 'retry-after': '30' }, body: {} }));
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('no more waiting')), 200);
  await expect(limited.listRunners({}, { signal: stop.signal })).rejects.toThrow('no more waiting');
  expect(proxy!.requests).toHaveLength(1);
});

test('an unreachable server: NETWORK_ERROR naming the URL and the cause', async () => {
  const port = await pickFreePort(); // nobody listens there
  const url = `http://127.0.0.1:${port}`;
  const nowhere = new HourglassClient({ url, retry: { retries: 1, initialDelayMs: 10 } });
  const err = (await nowhere.listRunners().catch((e: unknown) => e)) as HourglassError;
  expect(err).toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  expect(err.detail).toContain(`could not reach ${url}: fetch failed (`);
  expect(err.detail).toContain('ECONNREFUSED');
});
