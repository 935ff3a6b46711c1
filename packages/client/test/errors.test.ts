import { HourglassClient, HourglassError } from '@hourglass/client';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/**
 * Error answers of a real orchestrator with authentication on, as the client hands them over: one HourglassError
 * carrying the problem+json. And the admin calls (API keys, drain) with the keys they need.
 */

const ADMIN = 'bootstrap-admin-key-for-client-tests';
let o: TestOrchestrator;
let admin: HourglassClient;
let client: HourglassClient;
let clientKeyId: number;

/** The rejection of `promise`, which must be an HourglassError. */
async function failure(promise: Promise<unknown>): Promise<HourglassError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HourglassError);
  return err as HourglassError;
}

beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true, env: { AUTH_DISABLED: 'false', ADMIN_API_KEY: ADMIN } });
  admin = new HourglassClient({ url: o.url, apiKey: ADMIN });
  const key = await admin.createApiKey({ name: 'client tests', scopes: ['client'] });
  clientKeyId = key.id;
  client = new HourglassClient({ url: o.url, apiKey: key.key });
});

afterAll(async () => {
  if (o) await stopTestOrchestrator(o);
});

describe('error answers', () => {
  test('400: status, code, detail and every field that was wrong', async () => {
    const err = await failure(client.createJob({ type: 'Not A Type', priority: 5000 }));
    expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', request: 'POST /jobs' });
    expect(err.errors.map((e) => e.field).sort()).toEqual(['priority', 'type']);
    expect(err.problem).toMatchObject({ status: 400, title: 'Bad Request' });
    expect(err.message).toBe(`POST /jobs: 400 VALIDATION_FAILED: ${err.detail}`);
    // A built-in type's payload is checked by its schema: the field is named inside the payload.
    const payload = await failure(
      client.createJob({ type: 'sleep', payload: { durationMs: 'soon' } }, { idempotencyKey: 'bad-sleep' }),
    );
    expect(payload.errors).toEqual([{ field: 'payload.durationMs', message: expect.any(String) }]);
  });

  test('401 without a key, or with an unknown one', async () => {
    for (const apiKey of [undefined, 'hg_000000000000_not-a-key']) {
      const err = await failure(new HourglassClient({ url: o.url, apiKey }).listRunners());
      expect(err).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', errors: [] });
    }
  });

  test('403: a client key may not manage keys nor drain runners', async () => {
    expect(await failure(client.listApiKeys())).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(await failure(client.drainRunner('00000000-0000-4000-8000-000000000000'))).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
    });
  });

  test('404 for an unknown job, execution, timer and dead letter', async () => {
    for (const call of [
      () => client.getJob(999_999),
      () => client.getExecution(999_999),
      () => client.getTimer(999_999),
      () => client.requeueDeadLetter(999_999),
    ]) {
      expect(await failure(call())).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    }
  });

  test('409: a change the job’s state does not allow', async () => {
    const job = await client.createJob({ type: 'noop', delayMs: 3_600_000 });
    expect(await failure(client.pauseJob(job.id))).toMatchObject({ status: 409, code: 'JOB_STATE' });
    await client.cancelJob(job.id);
    expect(await failure(client.triggerJob(job.id))).toMatchObject({
      status: 409,
      code: 'JOB_NOT_TRIGGERABLE',
    });
  });

  test('429 with Retry-After: not waited out when longer than maxRetryAfterMs, and it says how long', async () => {
    const limited = await admin.createApiKey({
      name: 'one a minute',
      scopes: ['client'],
      rateLimitPerMinute: 1,
    });
    const hurried = new HourglassClient({ url: o.url, apiKey: limited.key, retry: { maxRetryAfterMs: 0 } });
    await hurried.listRunners();
    const err = await failure(hurried.listRunners());
    expect(err).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
  });
});

describe('API keys (admin)', () => {
  test('createApiKey shows the secret once; listApiKeys never; revokeApiKey ends it', async () => {
    const created = await admin.createApiKey({ name: 'short-lived', scopes: ['client', 'runner'] });
    expect(created.key).toMatch(/^hg_/);
    expect(created).toMatchObject({ name: 'short-lived', scopes: ['client', 'runner'], revokedAt: null });
    const listed = await admin.listApiKeys();
    expect(listed.map((k) => k.id)).toEqual(expect.arrayContaining([created.id, clientKeyId]));
    expect(JSON.stringify(listed)).not.toContain(created.key);

    const user = new HourglassClient({ url: o.url, apiKey: created.key });
    expect(await user.listRunners()).toEqual([]);
    await admin.revokeApiKey(created.id);
    expect((await admin.listApiKeys()).find((k) => k.id === created.id)?.revokedAt).not.toBeNull();
    expect(await failure(user.listRunners())).toMatchObject({ status: 401 });
    // Revoking again: no active key by that id.
    expect(await failure(admin.revokeApiKey(created.id))).toMatchObject({ status: 404 });
  });

  test('drainRunner with an admin key', async () => {
    const runnerKey = await admin.createApiKey({ name: 'runner', scopes: ['runner'] });
    const res = await fetch(`${o.url}/runners/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runnerKey.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'idle', host: 'test', types: ['noop'], capacity: 1 }),
    });
    const { id } = (await res.json()) as { id: string };
    expect(await admin.drainRunner(id)).toEqual({ id, status: 'DRAINING' });
    expect((await client.listRunners()).find((r) => r.id === id)?.status).toBe('DRAINING');
  });
});
