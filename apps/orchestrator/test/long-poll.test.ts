import { setTimeout as sleep } from 'node:timers/promises';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createJob, ms, registerRunner } from './helpers.js';

/**
 * Long-poll claims are woken by new work, not by polling: the safety-net wake-up is set to a minute, so a claim
 * that returns within seconds was woken by the in-process signal or by LISTEN/NOTIFY. Bounds below are loose on
 * purpose (they tell "woken" from "timed out", not how fast).
 */

const env = { WAKE_SAFETY_NET_MS: '60000' };

let first: TestOrchestrator;
let second: TestOrchestrator;
beforeAll(async () => {
  first = await startTestOrchestrator({ env });
  second = await startTestOrchestrator({ env, database: first.database });
});
afterAll(async () => {
  await stopTestOrchestrator(second, true);
  await stopTestOrchestrator(first);
});

/** Starts a claim now; resolves with its answer and when it came. */
function waitingClaim(o: TestOrchestrator, runnerId: string, wait: number) {
  const startedAt = Date.now();
  return o.app
    .inject({ method: 'POST', url: `/runners/${runnerId}/next-job?max=1&wait=${wait}` })
    .then((res) => ({ res, startedAt, answeredAt: Date.now() }));
}

test('a waiting claim is woken by a job created on the same instance', async () => {
  const runnerId = await registerRunner(first, { types: ['echo'] });
  const pending = waitingClaim(first, runnerId, 20);
  await sleep(300);
  expect(first.services.claims.waiting).toBe(1);
  const job = await createJob(first, { payload: 'same instance' });
  const { res, startedAt, answeredAt } = await pending;
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().executions).toMatchObject([{ jobId: job.id, payload: 'same instance' }]);
  expect(answeredAt - startedAt).toBeLessThan(5_000);
});

test('a waiting claim is woken by a job created through another orchestrator on the same database', async () => {
  const runnerId = await registerRunner(first, { types: ['noop'] });
  const pending = waitingClaim(first, runnerId, 20);
  await sleep(300);
  expect(first.services.claims.waiting).toBe(1);
  const job = await createJob(second, { type: 'noop', payload: 'other instance' });
  const { res, startedAt, answeredAt } = await pending;
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().executions).toMatchObject([{ jobId: job.id, payload: 'other instance' }]);
  expect(answeredAt - startedAt).toBeLessThan(5_000);
});

test('a waiting claim with nothing due answers 204 at its deadline', async () => {
  const runnerId = await registerRunner(first, { types: ['sleep'] });
  const { res, startedAt, answeredAt } = await waitingClaim(first, runnerId, 1);
  expect(res.statusCode).toBe(204);
  expect(res.body).toBe('');
  expect(answeredAt - startedAt).toBeGreaterThanOrEqual(950);
  expect(first.services.claims.waiting).toBe(0);
});

test('a delayed job created while a claim waits is handed out once due, not before', async () => {
  const runnerId = await registerRunner(first, { types: ['sleep'] });
  const pending = waitingClaim(first, runnerId, 10);
  await sleep(100);
  const createdAt = Date.now();
  const job = await createJob(first, { type: 'sleep', delayMs: 2_000 });
  const { res, startedAt, answeredAt } = await pending;
  expect(res.statusCode, res.body).toBe(200);
  const [e] = res.json().executions;
  expect(e).toMatchObject({ jobId: job.id });
  expect(ms(e.scheduledFor)).toBe(ms(job.runAt));
  expect(answeredAt - createdAt).toBeGreaterThanOrEqual(1_950);
  expect(answeredAt - startedAt).toBeLessThan(8_000);
});
