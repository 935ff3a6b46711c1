import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/** What the dashboard needs from the API besides the rest of it: `GET /auth/me`, `GET /stats`, `GET /jobs?q=`, /ui. */

const ADMIN = 'dashboard-admin-key-for-tests';
let o: TestOrchestrator;
let clientKey: string;
let runnerKey: string;
let ui: string;

const get = (url: string, key: string | null = ADMIN) =>
  o.app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });
const post = (url: string, payload: unknown, key = ADMIN) =>
  o.app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${key}` },
  });

beforeAll(async () => {
  // A stand-in for the built dashboard: the route is tested without depending on a build.
  ui = mkdtempSync(path.join(tmpdir(), 'hourglass-ui-'));
  mkdirSync(path.join(ui, 'assets'));
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Hourglass</title>');
  writeFileSync(path.join(ui, 'assets', 'app-abc123.js'), 'console.log(1)');
  o = await startTestOrchestrator({
    env: { AUTH_DISABLED: 'false', ADMIN_API_KEY: ADMIN, DASHBOARD_DIR: ui },
  });
  clientKey = (await post('/api-keys', { name: 'ui-client', scopes: ['client'] })).json().key;
  runnerKey = (await post('/api-keys', { name: 'ui-runner', scopes: ['runner'] })).json().key;
});
afterAll(async () => {
  await stopTestOrchestrator(o);
  rmSync(ui, { recursive: true, force: true });
});

describe('GET /auth/me', () => {
  test('names the key and its scopes, for every scope', async () => {
    expect((await get('/auth/me')).json()).toEqual({
      name: 'bootstrap admin (ADMIN_API_KEY)',
      keyId: null,
      scopes: ['admin'],
      authEnabled: true,
    });
    const client = await get('/auth/me', clientKey);
    expect(client.statusCode).toBe(200);
    expect(client.json()).toMatchObject({ name: 'ui-client', scopes: ['client'], authEnabled: true });
    expect(client.json().keyId).toBeGreaterThan(0);
    expect((await get('/auth/me', runnerKey)).json()).toMatchObject({
      name: 'ui-runner',
      scopes: ['runner'],
    });
  });

  test('without a key or with an unknown one: 401', async () => {
    expect((await get('/auth/me', null)).statusCode).toBe(401);
    expect((await get('/auth/me', 'hg_000000000000_nope')).statusCode).toBe(401);
  });

  test('with authentication off it says so, with every scope', async () => {
    const open = await startTestOrchestrator({ database: o.database });
    try {
      const res = await open.app.inject({ method: 'GET', url: '/auth/me' });
      expect(res.json()).toMatchObject({ scopes: ['admin'], authEnabled: false, keyId: null });
    } finally {
      await stopTestOrchestrator(open, true);
    }
  });
});

// First of the file's tests that make jobs, so its counts are the whole database's.
describe('GET /stats', () => {
  test('counts jobs by status, and the last hour of finished executions a minute a bucket', async () => {
    const runner = (
      await post('/runners/register', { name: 'stats', host: 'test', types: ['noop'], capacity: 5 })
    ).json();
    const ok = (await post('/jobs', { type: 'noop' })).json();
    const bad = (await post('/jobs', { type: 'noop', maxAttempts: 1 })).json();
    const later = (await post('/jobs', { type: 'noop', delayMs: 3_600_000 })).json();
    await post('/jobs', { type: 'noop', delayMs: 3_600_000 });
    expect((await post(`/jobs/${later.id}/cancel`, undefined)).statusCode).toBe(200);
    const claimed = (await post(`/runners/${runner.id}/next-job?max=5&wait=0`, undefined)).json().executions;
    expect(claimed.map((e: { jobId: number }) => e.jobId).sort()).toEqual([ok.id, bad.id].sort());
    for (const e of claimed) {
      const outcome = e.jobId === ok.id ? { status: 'SUCCEEDED' } : { status: 'FAILED', error: 'boom' };
      expect((await post(`/executions/${e.id}/complete`, { runnerId: runner.id, outcome })).statusCode).toBe(
        200,
      );
    }
    const stats = (await get('/stats', clientKey)).json();
    expect(stats.jobs).toEqual({
      WAITING: 0,
      SCHEDULED: 1,
      RUNNING: 0,
      SUCCEEDED: 1,
      FAILED: 1,
      CANCELLED: 1,
      PAUSED: 0,
    });
    expect(stats.throughput).toHaveLength(60);
    const total = (k: string) =>
      stats.throughput.reduce((n: number, b: Record<string, number>) => n + b[k]!, 0);
    expect([total('succeeded'), total('failed'), total('cancelled')]).toEqual([1, 1, 1]);
    // Oldest first, a minute apart, ending with the current minute (where these finished, or the one before).
    const starts = stats.throughput.map((b: { at: string }) => Date.parse(b.at));
    expect(
      starts.every((t: number, i: number) => t % 60_000 === 0 && (i === 0 || t - starts[i - 1] === 60_000)),
    ).toBe(true);
    const recent = stats.throughput.slice(-2);
    expect(recent.reduce((n: number, b: { succeeded: number }) => n + b.succeeded, 0)).toBe(1);
    expect(stats.throughputSample).toBe(4);
    expect(stats.throughputSampleFull).toBe(false);
  });

  test('needs a client key: a runner key is refused; it takes no query', async () => {
    expect((await get('/stats', runnerKey)).statusCode).toBe(403);
    expect((await get('/stats?x=1')).statusCode).toBe(400);
  });
});

describe('GET /jobs?q=', () => {
  test('finds a job by its id or its idempotency key, exactly, with the other filters', async () => {
    const keyed = (
      await post('/jobs', { type: 'noop', delayMs: 3_600_000, idempotencyKey: 'order-4711' })
    ).json();
    const other = (
      await post('/jobs', { type: 'echo', delayMs: 3_600_000, idempotencyKey: 'order-47' })
    ).json();
    // A job whose idempotency key is the other one's id, to show both are matched.
    const numeric = (
      await post('/jobs', { type: 'echo', delayMs: 3_600_000, idempotencyKey: String(keyed.id) })
    ).json();
    const ids = async (q: string) => (await get(`/jobs?${q}`)).json().items.map((j: { id: number }) => j.id);
    expect(await ids('q=order-4711')).toEqual([keyed.id]);
    expect(await ids('q=order-47')).toEqual([other.id]);
    expect(await ids('q=order')).toEqual([]);
    expect(await ids(`q=${other.id}`)).toEqual([other.id]);
    expect(await ids(`q=${keyed.id}`)).toEqual([numeric.id, keyed.id]);
    expect(await ids(`q=${keyed.id}&type=noop`)).toEqual([keyed.id]);
    expect(await ids('q=%20order-4711%20')).toEqual([keyed.id]);
    expect(await ids('q=99999999999999999999')).toEqual([]);
  });

  test('an empty or too long q is a 400 naming it', async () => {
    for (const q of ['', '%20', 'x'.repeat(201)]) {
      const res = await get(`/jobs?q=${q}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].field).toBe('q');
    }
  });
});

describe('/ui', () => {
  test('serves the dashboard without a key, index.html for deep links, and 404 for missing assets', async () => {
    const root = await get('/ui', null);
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    for (const url of ['/ui/', '/ui/jobs/42', '/ui/dead-letters?x=1']) {
      const res = await get(url, null);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('<title>Hourglass</title>');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    }
    const asset = await get('/ui/assets/app-abc123.js', null);
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await get('/ui/assets/gone-000.js', null)).statusCode).toBe(404);
    expect((await get('/ui/assets/..%2F..%2Fpackage.json', null)).statusCode).toBe(404);
  });

  test('is not in the OpenAPI document', async () => {
    const paths = Object.keys((await get('/openapi.json', null)).json().paths);
    expect(paths.filter((p) => p.startsWith('/ui'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['/auth/me', '/stats']));
  });
});
