import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { newApiKey } from '../src/auth/api-key.js';
import { KeyResolver } from '../src/auth/principal.js';

/**
 * What callers without a valid key can cost (issue 10, defect 9): a bounded key cache, failed authentications
 * limited per address, and a /metrics that can be protected and reads the database at a bounded rate.
 */

const ADMIN = 'load-test-admin-key-0123456789';
const METRICS_KEY = 'load-test-metrics-key-0123456789';
let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator({
    env: {
      AUTH_DISABLED: 'false',
      ADMIN_API_KEY: ADMIN,
      METRICS_API_KEY: METRICS_KEY,
      METRICS_DB_REFRESH_MS: '60000',
      RATE_LIMIT_FAILED_AUTH_PER_MINUTE: '5',
    },
  });
});
afterAll(() => stopTestOrchestrator(o));

test('unknown keys are cached in a bounded cache: inventing keys cannot grow memory', async () => {
  const resolver = new KeyResolver(o.db, undefined, { client: 1, runner: 1, admin: 1 }, 50);
  for (let i = 0; i < 80; i++) expect(await resolver.resolve(newApiKey().key)).toBeNull();
  expect(resolver.cached).toBe(50);
});

test('an address that keeps failing to authenticate gets 429 with Retry-After; other addresses do not', async () => {
  const from = (remoteAddress: string, authorization?: string) =>
    o.app.inject({
      method: 'GET',
      url: '/jobs',
      remoteAddress,
      headers: authorization ? { authorization } : {},
    });
  for (let i = 0; i < 5; i++) {
    const bad = await from('10.9.9.9', `Bearer hg_nope${i}_${'x'.repeat(30)}`);
    expect(bad.statusCode).toBe(401);
  }
  expect((await from('10.9.9.9')).statusCode).toBe(429); // no key at all: also a failure, now refused early
  const limited = await from('10.9.9.9', `Bearer ${ADMIN}`);
  expect(limited.statusCode).toBe(429);
  expect(limited.json().code).toBe('RATE_LIMITED');
  expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  expect((await from('10.9.9.10', `Bearer ${ADMIN}`)).statusCode).toBe(200);
});

test('with METRICS_API_KEY, /metrics needs it; its database gauges refresh at most every METRICS_DB_REFRESH_MS', async () => {
  expect((await o.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  const wrong = await o.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  expect(wrong.statusCode).toBe(401);
  const scrape = async () => {
    const res = await o.app.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': METRICS_KEY } });
    expect(res.statusCode).toBe(200);
    return /^hourglass_backlog_due (\d+)$/m.exec(res.body)?.[1];
  };
  expect(await scrape()).toBe('0');
  const created = await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { jobs: [{ type: 'noop' }, { type: 'noop' }] },
  });
  expect(created.statusCode).toBe(201);
  // Two due jobs now, but the gauge is the snapshot of the first scrape: a scrape storm costs no count query.
  for (let i = 0; i < 5; i++) expect(await scrape()).toBe('0');
});
