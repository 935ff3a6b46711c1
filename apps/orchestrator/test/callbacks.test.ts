import { createRunner, defineHandler, type Runner } from '@hourglass/runner';
import { builtinHandlers } from '@hourglass/runner/builtin';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { verify } from '@hourglass/testkit/signature-recipe';
import { type Delivery, WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createJob, eventually, getJob } from './helpers.js';

/**
 * Completion callbacks (issue 13) delivered by a real runner (the runner SDK in this process, serving the built-in
 * webhook type with a signing secret) to a real HTTP receiver: once per final state, signed, retried on 5xx under
 * one stable Idempotency-Key, with the job as the body.
 */

const SECRET = 'callback-signing-secret';
let o: TestOrchestrator;
let runner: Runner;
let receiver: WebhookReceiver;
/** Jobs of type `flip` fail their first run and succeed afterwards (a dead letter that succeeds once requeued). */
const flipped = new Set<number>();

beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true, env: { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' } });
  receiver = await WebhookReceiver.start();
  runner = createRunner({
    orchestratorUrl: o.url,
    name: 'callbacks',
    handlers: [
      ...builtinHandlers({ webhook: { secret: SECRET, blockPrivateTargets: false } }),
      defineHandler({
        type: 'flip',
        handle: async (_payload, ctx) => {
          if (flipped.has(ctx.jobId)) return { flipped: true };
          flipped.add(ctx.jobId);
          throw new Error('first run fails');
        },
      }),
    ],
    handleSignals: false,
    logger: pino({ level: 'silent' }),
    pollWaitSeconds: 5,
  });
  await runner.start();
});

afterAll(async () => {
  await runner?.stop();
  await receiver?.close();
  o?.app.server.closeAllConnections();
  if (o) await stopTestOrchestrator(o);
});

/** The deliveries to `path` once `count` arrived, after a pause that would let a wrong extra one arrive too. */
async function deliveriesTo(path: string, count: number): Promise<Delivery[]> {
  await receiver.waitFor(count, path);
  await new Promise((r) => setTimeout(r, 300));
  return receiver.at(path);
}

const signed = (d: Delivery) => verify(SECRET, d.rawBody, String(d.headers['hourglass-signature'] ?? ''));

describe('completion callbacks', () => {
  test('a job that succeeds is POSTed once, signed, with its result, under callback-<id>', async () => {
    const job = await createJob(o, {
      type: 'echo',
      payload: { hello: 'cb' },
      callbackUrl: `${receiver.url}/ok`,
    });
    expect(job.callbackUrl).toBe(`${receiver.url}/ok`);
    const [delivery, ...more] = await deliveriesTo('/ok', 1);
    expect(more).toEqual([]);
    expect(delivery!.key).toBe(`callback-${job.id}`);
    expect(signed(delivery!)).toBe(true);
    const final = await getJob(o, job.id);
    expect(delivery!.body).toEqual({
      id: job.id,
      type: 'echo',
      status: 'SUCCEEDED',
      result: { hello: 'cb' },
      error: null,
      attempts: 1,
      finishedAt: final.finishedAt,
    });
  });

  test('a receiver answering 5xx gets the same delivery again, under the same key, until it takes it', async () => {
    receiver.on('/flaky', { kind: 'fail-then-ok', times: 2 });
    const job = await createJob(o, { type: 'noop', callbackUrl: `${receiver.url}/flaky` });
    const deliveries = await deliveriesTo('/flaky', 3);
    expect(deliveries.map((d) => d.key)).toEqual(Array(3).fill(`callback-${job.id}`));
    expect(deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
    expect(deliveries.every(signed)).toBe(true);
    // The delivery is a webhook job of its own, with its attempts in its history.
    const delivery = await eventually('the delivery job to succeed', async () => {
      const res = await o.app.inject({ method: 'GET', url: '/jobs?type=webhook&limit=100' });
      const found = res
        .json()
        .items.find((j: { idempotencyKey: string }) => j.idempotencyKey === `callback-${job.id}`);
      return found?.status === 'SUCCEEDED' ? found : undefined;
    });
    expect(delivery.payload).toMatchObject({ url: `${receiver.url}/flaky`, raw: true });
  });

  test('failed after the last attempt, then requeued and succeeded: one delivery per final state, new key', async () => {
    const job = await createJob(o, { type: 'flip', maxAttempts: 1, callbackUrl: `${receiver.url}/flip` });
    const [failedOnce] = await deliveriesTo('/flip', 1);
    expect(failedOnce!.key).toBe(`callback-${job.id}`);
    expect(failedOnce!.body).toMatchObject({ id: job.id, status: 'FAILED', result: null, attempts: 1 });
    expect((failedOnce!.body as { error: string }).error).toContain('first run fails');

    const letters = await o.app.inject({ method: 'GET', url: '/dead-letters' });
    const letter = letters.json().items.find((d: { jobId: number }) => d.jobId === job.id);
    expect(
      (await o.app.inject({ method: 'POST', url: `/dead-letters/${letter.id}/requeue` })).statusCode,
    ).toBe(202);
    const deliveries = await deliveriesTo('/flip', 2);
    expect(deliveries.map((d) => d.key)).toEqual([`callback-${job.id}`, `callback-${job.id}-2`]);
    expect(deliveries[1]!.body).toMatchObject({ status: 'SUCCEEDED', result: { flipped: true } });
    expect(deliveries.every(signed)).toBe(true);
  });

  test('a cancelled job is delivered as CANCELLED', async () => {
    const job = await createJob(o, {
      type: 'noop',
      delayMs: 3_600_000,
      callbackUrl: `${receiver.url}/cancel`,
    });
    expect((await o.app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` })).statusCode).toBe(200);
    expect((await o.app.inject({ method: 'POST', url: `/jobs/${job.id}/cancel` })).statusCode).toBe(200);
    const [delivery, ...more] = await deliveriesTo('/cancel', 1);
    expect(more).toEqual([]);
    expect(delivery!.body).toMatchObject({ id: job.id, status: 'CANCELLED', result: null });
  });

  test('a timer with a callbackUrl fires, then calls back with its own final state', async () => {
    const res = await o.app.inject({
      method: 'POST',
      url: '/timers',
      payload: { seconds: 1, url: `${receiver.url}/fire`, callbackUrl: `${receiver.url}/timer-done` },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as number;
    const [fired] = await deliveriesTo('/fire', 1);
    expect(fired!.body).toMatchObject({ timerId: id });
    const [done] = await deliveriesTo('/timer-done', 1);
    expect(done!.key).toBe(`callback-${id}`);
    expect(done!.body).toMatchObject({ id, type: 'webhook', status: 'SUCCEEDED', result: { status: 200 } });
  });

  test.each([
    ['/jobs', { type: 'noop', callbackUrl: 'ftp://example.com/x' }],
    ['/jobs', { type: 'noop', callbackUrl: 'not a url' }],
    ['/timers', { seconds: 5, url: 'https://example.com/x', callbackUrl: 'mailto:a@b.c' }],
  ])('POST %s with a bad callbackUrl is a 400 naming it', async (url, payload) => {
    const res = await o.app.inject({ method: 'POST', url, payload });
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.stringify(res.json().errors)).toContain('callbackUrl');
  });

  test.each([
    // A client's job holding callback-<id> as its key would suppress that job's delivery.
    [{ type: 'noop', idempotencyKey: 'callback-1' }, {}, 'idempotencyKey'],
    [{ type: 'noop' }, { 'idempotency-key': 'callback-2' }, 'idempotency-key'],
    // raw and idempotencyKey would let a client's webhook pass for a completion callback.
    [{ type: 'webhook', payload: { url: 'https://example.com/x', raw: true } }, {}, 'payload.raw'],
    [
      { type: 'webhook', payload: { url: 'https://example.com/x', idempotencyKey: 'k' } },
      {},
      'payload.idempotencyKey',
    ],
  ])('what only callbacks may carry is refused from clients: %j', async (payload, headers, field) => {
    const before = await o.app.inject({ method: 'GET', url: '/jobs?limit=1' });
    const res = await o.app.inject({ method: 'POST', url: '/jobs', payload, headers });
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.stringify(res.json().errors)).toContain(field);
    const after = await o.app.inject({ method: 'GET', url: '/jobs?limit=1' });
    expect(after.json().items).toEqual(before.json().items); // nothing created
  });

  test('with private targets blocked, a callbackUrl on a loopback address is a 400 naming it', async () => {
    const strict = await startTestOrchestrator();
    try {
      const res = await strict.app.inject({
        method: 'POST',
        url: '/jobs/batch',
        payload: { jobs: [{ type: 'noop' }, { type: 'noop', callbackUrl: 'http://127.0.0.1:9/cb' }] },
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors[0].field).toBe('jobs.1.callbackUrl');
    } finally {
      await stopTestOrchestrator(strict);
    }
  });
});
