import { createHmac } from 'node:crypto';
import { createWebhookHandler, SIGNATURE_HEADER, sign, USER_AGENT, verify } from '@hourglass/runner/builtin';
import { verify as recipeVerifies } from '@hourglass/testkit/signature-recipe';
import { type Delivery, WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testContext } from './context.js';

/**
 * The webhook signature: `hourglass-signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * `receiverVerifies` is the documented recipe, written as a receiver would copy it; it must accept what the
 * handler really sends over HTTP and refuse any tampering.
 */

test('the recipe refuses a malformed signature without throwing', () => {
  expect(recipeVerifies('s', '{}', `t=${Math.floor(Date.now() / 1000)},v1=${'é'.repeat(64)}`)).toBe(false);
  expect(recipeVerifies('s', '{}', 't=1')).toBe(false);
});

const SECRET = 'a-webhook-secret-of-some-length';
function ctx(jobId: number, idempotencyKey = String(jobId)) {
  return testContext({
    executionId: jobId * 10,
    jobId,
    idempotencyKey,
    scheduledFor: '2030-01-02T03:04:05.000Z',
  });
}

describe('sign and verify', () => {
  const now = 1_900_000_000;
  const body = '{"timerId":1,"payload":{"a":"é"}}';

  test('the header is t=<unix seconds>,v1=<64 hex digits> and depends on secret, time and body', () => {
    const h = sign(SECRET, body, now);
    expect(h).toMatch(/^t=1900000000,v1=[0-9a-f]{64}$/);
    expect(sign(SECRET, body, now)).toBe(h);
    expect(sign('another-secret-entirely', body, now)).not.toBe(h);
    expect(sign(SECRET, body, now + 1)).not.toBe(h);
    expect(sign(SECRET, `${body} `, now)).not.toBe(h);
    // The MAC is over "<t>.<body>", the scheme the README documents.
    const mac = createHmac('sha256', SECRET).update(`${now}.${body}`).digest('hex');
    expect(h).toBe(`t=${now},v1=${mac}`);
  });

  test('verify accepts its own signature within the tolerance, and nothing else', () => {
    const h = sign(SECRET, body, now);
    const at = (s: number) => s * 1000;
    expect(verify(SECRET, body, h, 300, at(now))).toBe(true);
    expect(verify(SECRET, body, h, 300, at(now + 300))).toBe(true);
    expect(verify(SECRET, body, h, 300, at(now - 300))).toBe(true);
    expect(verify(SECRET, body, h, 300, at(now + 301)), 'stale').toBe(false);
    expect(verify(SECRET, body, h, 300, at(now - 301)), 'from the future').toBe(false);
    expect(verify(SECRET, body.replace('1', '2'), h, 300, at(now)), 'body').toBe(false);
    expect(verify('another-secret-entirely', body, h, 300, at(now)), 'secret').toBe(false);
    expect(verify(SECRET, body, h.replace(`t=${now}`, `t=${now + 1}`), 300, at(now)), 'time').toBe(false);
    expect(verify(SECRET, body, h.replace(/v1=./, 'v1=0'), 300, at(now)), 'mac').toBe(false);
    expect(verify(SECRET, body, h.slice(0, -2), 300, at(now)), 'short mac').toBe(false);
  });

  test('malformed headers are refused, not thrown on', () => {
    for (const h of ['', 'garbage', 'v1=abc', 't=abc,v1=abc', 't=1900000000', `t=1.5,v1=${'0'.repeat(64)}`]) {
      expect(verify(SECRET, body, h, 300, now * 1000), h).toBe(false);
      expect(recipeVerifies(SECRET, body, h), h).toBe(false);
    }
  });

  test('the recipe and verify agree on a fresh signature', () => {
    const t = Math.floor(Date.now() / 1000);
    const h = sign(SECRET, body, t);
    expect(recipeVerifies(SECRET, body, h)).toBe(true);
    expect(verify(SECRET, body, h)).toBe(true);
    expect(recipeVerifies(SECRET, body, sign(SECRET, body, t - 301)), 'stale').toBe(false);
  });
});

describe('a real delivery', () => {
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterAll(() => receiver.close());

  async function deliver(
    path: string,
    jobId: number,
    secret: string | undefined,
    idempotencyKey = String(jobId),
  ): Promise<Delivery> {
    const webhook = createWebhookHandler({
      secret,
      blockPrivateTargets: false,
      connectTimeoutMs: 2_000,
      timeoutMs: 5_000,
    });
    const result = await webhook.handle(
      webhook.payload!.parse({
        url: `${receiver.url}${path}`,
        payload: { order: 17, note: 'naïve ✓' },
        headers: { authorization: 'Bearer abc', 'x-tenant': 'acme' },
      }),
      ctx(jobId, idempotencyKey),
    );
    expect(result).toEqual({ status: 200 });
    const got = receiver.at(path);
    expect(got).toHaveLength(1);
    return got[0]!;
  }

  test('is signed, and the recipe verifies the raw body it received; tampering fails it', async () => {
    const d = await deliver('/signed', 42, SECRET);
    const header = String(d.headers[SIGNATURE_HEADER]);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(recipeVerifies(SECRET, d.rawBody, header)).toBe(true);
    expect(verify(SECRET, d.rawBody, header)).toBe(true);

    // Tampered body: one byte changed, or the JSON re-serialised with another payload.
    expect(recipeVerifies(SECRET, d.rawBody.replace('17', '18'), header)).toBe(false);
    expect(recipeVerifies(SECRET, `${d.rawBody} `, header)).toBe(false);
    // Tampered timestamp (a replay dressed up as fresh), and a timestamp too old to accept.
    const t = Number(/t=(\d+)/.exec(header)![1]);
    expect(recipeVerifies(SECRET, d.rawBody, header.replace(`t=${t}`, `t=${t + 1}`))).toBe(false);
    expect(recipeVerifies(SECRET, d.rawBody, header, t + 300)).toBe(true);
    expect(recipeVerifies(SECRET, d.rawBody, header, t + 301), 'replayed 5 minutes later').toBe(false);
    expect(recipeVerifies(SECRET, d.rawBody, sign(SECRET, d.rawBody, t - 400)), 'stale').toBe(false);
    // Another secret.
    expect(recipeVerifies('not-the-secret-at-all', d.rawBody, header)).toBe(false);
  });

  test('carries the documented body and headers', async () => {
    const d = await deliver('/shape', 7, SECRET);
    expect(d.body).toEqual({
      timerId: 7,
      scheduledFor: '2030-01-02T03:04:05.000Z',
      firedAt: expect.any(String),
      payload: { order: 17, note: 'naïve ✓' },
    });
    expect(Math.abs(Date.parse((d.body as { firedAt: string }).firedAt) - d.receivedAt)).toBeLessThan(5_000);
    expect(d.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'idempotency-key': 'timer-7',
      authorization: 'Bearer abc',
      'x-tenant': 'acme',
    });
    expect(USER_AGENT).toMatch(/^hourglass-webhook\//);
  });

  test('without a secret no signature header is sent', async () => {
    const d = await deliver('/unsigned', 8, undefined);
    expect(d.headers[SIGNATURE_HEADER]).toBeUndefined();
    expect(d.headers['idempotency-key']).toBe('timer-8');
  });

  test('a later occurrence of the job (a recurring run, a trigger, a requeue) has a key of its own', async () => {
    const d = await deliver('/later-occurrence', 9, undefined, '9-41');
    expect(d.headers['idempotency-key']).toBe('timer-9-41');
  });
});
