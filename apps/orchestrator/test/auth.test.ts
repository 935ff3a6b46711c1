import { createHash } from 'node:crypto';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ADMIN = 'bootstrap-admin-key-for-tests';
let o: TestOrchestrator;
let client: string;
let runnerA: string;
let runnerB: string;

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, key?: string, payload?: unknown) =>
  o.app.inject({
    method,
    url,
    payload: payload as object,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });

async function createKey(scopes: string[], extra: Record<string, unknown> = {}) {
  const res = await call('POST', '/api-keys', ADMIN, { name: scopes.join('+'), scopes, ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: number; key: string; prefix: string };
}

beforeAll(async () => {
  o = await startTestOrchestrator({
    env: { AUTH_DISABLED: 'false', ADMIN_API_KEY: ADMIN, RATE_LIMIT_CLIENT_PER_MINUTE: '30' },
  });
  client = (await createKey(['client'])).key;
  runnerA = (await createKey(['runner'])).key;
  runnerB = (await createKey(['runner'])).key;
});
afterAll(() => stopTestOrchestrator(o));

describe('authentication', () => {
  test('no key, a malformed header or an unknown key is a 401 problem', async () => {
    for (const headers of [
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer hg_000000000000_nope' },
    ]) {
      const res = await o.app.inject({ method: 'GET', url: '/jobs', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.json().code).toBe('UNAUTHENTICATED');
    }
  });

  test('the key works in Authorization: Bearer and in X-API-Key', async () => {
    expect((await call('GET', '/jobs', client)).statusCode).toBe(200);
    expect(
      (await o.app.inject({ method: 'GET', url: '/jobs', headers: { 'x-api-key': client } })).statusCode,
    ).toBe(200);
  });

  test('keys are stored only as hashes, and the secret is shown once', async () => {
    const created = await createKey(['client']);
    const db = new pg.Client({ connectionString: o.database.url });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT * FROM api_keys WHERE id = $1', [created.id]);
      expect(rows[0].prefix).toBe(created.prefix);
      expect(rows[0].hash.equals(createHash('sha256').update(created.key).digest())).toBe(true);
      // The secret is all after `hg_<prefix>_` (base64url: it may itself contain `_`, so not split('_')[2], which
      // was sometimes a one-letter fragment that the row's JSON happened to contain).
      const secret = created.key.slice(`hg_${created.prefix}_`.length);
      expect(secret).toHaveLength(43);
      expect(JSON.stringify(rows)).not.toContain(secret);
    } finally {
      await db.end();
    }
    const listed = await call('GET', '/api-keys', ADMIN);
    expect(listed.json().items.map((k: { id: number }) => k.id)).toContain(created.id);
    expect(listed.body).not.toContain(created.key);
  });

  test('health, readiness and docs are public', async () => {
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await o.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  test('a revoked key stops working', async () => {
    const k = await createKey(['client']);
    expect((await call('GET', '/jobs', k.key)).statusCode).toBe(200);
    expect((await call('DELETE', `/api-keys/${k.id}`, ADMIN)).statusCode).toBe(204);
    expect((await call('GET', '/jobs', k.key)).statusCode).toBe(401);
  });
});

describe('scopes', () => {
  test('a runner key cannot create jobs (403), a client key can', async () => {
    const res = await call('POST', '/jobs', runnerA, { type: 'noop' });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
    expect((await call('POST', '/jobs', client, { type: 'noop' })).statusCode).toBe(201);
  });

  test('a client key cannot register, claim or complete work', async () => {
    expect(
      (
        await call('POST', '/runners/register', client, {
          name: 'x',
          host: 'h',
          types: ['noop'],
          capacity: 1,
        })
      ).statusCode,
    ).toBe(403);
    const reg = await call('POST', '/runners/register', runnerA, {
      name: 'a',
      host: 'h',
      types: ['noop'],
      capacity: 1,
    });
    const id = reg.json().id;
    expect((await call('POST', `/runners/${id}/next-job`, client)).statusCode).toBe(403);
    expect((await call('POST', `/runners/${id}/heartbeat`, client, {})).statusCode).toBe(403);
  });

  test('only admin manages keys', async () => {
    expect((await call('POST', '/api-keys', client, { name: 'x', scopes: ['admin'] })).statusCode).toBe(403);
    expect((await call('GET', '/api-keys', runnerA)).statusCode).toBe(403);
  });

  test('a runner may only heartbeat, claim and complete as itself', async () => {
    const reg = await call('POST', '/runners/register', runnerA, {
      name: 'a',
      host: 'h',
      types: ['noop'],
      capacity: 2,
    });
    const id = reg.json().id;
    await call('POST', '/jobs', client, { type: 'noop' });
    const claimed = await call('POST', `/runners/${id}/next-job?max=1&wait=1`, runnerA);
    expect(claimed.statusCode).toBe(200);
    const execution = claimed.json().executions[0];

    // Another runner key acting as runner A:
    expect((await call('POST', `/runners/${id}/heartbeat`, runnerB, {})).statusCode).toBe(403);
    expect((await call('POST', `/runners/${id}/next-job`, runnerB)).statusCode).toBe(403);
    const stolen = await call('POST', `/executions/${execution.id}/complete`, runnerB, {
      runnerId: id,
      outcome: { status: 'SUCCEEDED' },
    });
    expect(stolen.statusCode).toBe(403);
    expect((await call('GET', `/executions/${execution.id}`, client)).json().status).toBe('RUNNING');
    // Nor take over its id by registering again.
    expect(
      (
        await call('POST', '/runners/register', runnerB, {
          id,
          name: 'b',
          host: 'h',
          types: ['noop'],
          capacity: 1,
        })
      ).statusCode,
    ).toBe(403);

    const done = await call('POST', `/executions/${execution.id}/complete`, runnerA, {
      runnerId: id,
      outcome: { status: 'SUCCEEDED' },
    });
    expect(done.statusCode).toBe(200);
  });
});

test('rate limit per key: 429 with Retry-After as problem+json, other keys unaffected', async () => {
  const k = (await createKey(['client'], { rateLimitPerMinute: 5 })).key;
  const codes: number[] = [];
  for (let i = 0; i < 7; i++) codes.push((await call('GET', '/jobs?limit=1', k)).statusCode);
  expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
  const limited = await call('GET', '/jobs?limit=1', k);
  expect(limited.statusCode).toBe(429);
  expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  expect(limited.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(limited.json().code).toBe('RATE_LIMITED');
  expect((await call('GET', '/jobs?limit=1', client)).statusCode).toBe(200);
});
