import type { Execution, Job } from '@hourglass/contracts';
import { expect, test } from 'vitest';
import { createTimer, getTimer, timerCluster, timersEnded } from './timer-checks.js';

/**
 * Failing receivers, with real processes: a non-2xx answer or a timeout is a failed attempt, retried with the
 * job's backoff (5 s first by default) under the same Idempotency-Key; a receiver that recovers gets exactly
 * maxAttempts deliveries at most and the timer ends fired; one that never does ends FAILED and dead-lettered.
 */

const RUNNER_WEBHOOK_TIMEOUT_MS = 500;
const t = timerCluster({
  runners: ['runner-a'],
  runnerEnv: { WEBHOOK_TIMEOUT_MS: String(RUNNER_WEBHOOK_TIMEOUT_MS) },
  routes: (r) =>
    r
      .on('/flaky', { kind: 'fail-then-ok', times: 2 })
      .on('/down', { kind: 'always-fail' })
      .on('/down-once', { kind: 'always-fail' })
      .on('/plain-timer', { kind: 'always-fail' })
      .on('/hang', { kind: 'hang' }),
});
const { cluster } = t;

/** A webhook job through POST /jobs, due now, retried after 200 ms, 400 ms, … instead of 5 s, 10 s. */
async function webhookJob(path: string, extra: Record<string, unknown> = {}): Promise<Job> {
  const { status, body } = await cluster.request<Job>('POST', '/jobs', {
    type: 'webhook',
    payload: { url: `${t.receiver.url}${path}`, payload: { path } },
    backoff: { initialDelayMs: 200 },
    ...extra,
  });
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

async function deadLetterJobIds(): Promise<number[]> {
  const { body } = await cluster.get<{ items: { jobId: number; error: string }[] }>('/dead-letters');
  return body.items.map((d) => d.jobId);
}

test('500 twice then 200: exactly 3 deliveries with one Idempotency-Key, the timer ends fired after 3 attempts', async () => {
  const job = await webhookJob('/flaky');
  const [timer] = [...(await timersEnded(cluster, [job.id])).values()];
  const deliveries = t.receiver.at('/flaky');
  expect(deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
  expect(new Set(deliveries.map((d) => d.key))).toEqual(new Set([`timer-${job.id}`]));
  expect(timer).toMatchObject({ status: 'SUCCEEDED', attempts: 3, time_left: 0 });
  expect(timer!.fired_at).toBeTruthy();
  expect(timer!.last_error).toMatch(/500/);

  const history = await cluster.executions(job.id);
  expect(history.map((e) => [e.attempt, e.status])).toEqual([
    [1, 'FAILED'],
    [2, 'FAILED'],
    [3, 'SUCCEEDED'],
  ]);
  expect(history[0]!.error).toMatch(/^receiver answered 500/);
  // Each attempt's body names the same timer and its own due time.
  for (const d of deliveries) expect(d.body).toMatchObject({ timerId: job.id, payload: { path: '/flaky' } });
  expect(await deadLetterJobIds()).not.toContain(job.id);
});

test('a receiver that always answers 500: maxAttempts deliveries, then FAILED and dead-lettered', async () => {
  const job = await webhookJob('/down');
  const [timer] = [...(await timersEnded(cluster, [job.id])).values()];
  expect(timer).toMatchObject({ status: 'FAILED', attempts: 3, fired_at: null, time_left: 0 });
  expect(timer!.last_error).toMatch(/receiver answered 500/);
  expect(t.receiver.countsByKey('/down')).toEqual(new Map([[`timer-${job.id}`, 3]]));
  expect(await deadLetterJobIds()).toContain(job.id);
  const { body } = await cluster.get<{ items: { jobId: number; error: string; attempts: number }[] }>(
    '/dead-letters',
  );
  expect(body.items.find((d) => d.jobId === job.id)).toMatchObject({
    attempts: 3,
    error: expect.stringMatching(/500/),
  });
});

test('a timer with maxAttempts 1 aimed at a failing receiver is delivered once and dead-lettered', async () => {
  const { id } = await createTimer(cluster, {
    seconds: 1,
    url: `${t.receiver.url}/down-once`,
    maxAttempts: 1,
  });
  const [timer] = [...(await timersEnded(cluster, [id])).values()];
  expect(timer).toMatchObject({ status: 'FAILED', attempts: 1 });
  expect(t.receiver.countsByKey('/down-once')).toEqual(new Map([[`timer-${id}`, 1]]));
  expect(await deadLetterJobIds()).toContain(id);
});

test('a receiver that hangs: each attempt fails after WEBHOOK_TIMEOUT_MS, then the timer is FAILED', async () => {
  const job = await webhookJob('/hang', { maxAttempts: 2 });
  const [timer] = [...(await timersEnded(cluster, [job.id])).values()];
  expect(timer).toMatchObject({ status: 'FAILED', attempts: 2 });
  expect(timer!.last_error).toBe(`no answer within ${RUNNER_WEBHOOK_TIMEOUT_MS} ms`);
  expect(t.receiver.countsByKey('/hang')).toEqual(new Map([[`timer-${job.id}`, 2]]));
});

test('a plain POST /timers timer that fails is retried 5 s after the failure (default backoff)', async () => {
  const { id } = await createTimer(cluster, { seconds: 1, url: `${t.receiver.url}/plain-timer` });
  const history = await cluster.until(
    'the first attempt to fail and the second to be scheduled',
    async () => {
      const h = await cluster.executions(id);
      return h.length === 2 ? h : undefined;
    },
  );
  const [first, second] = history as [Execution, Execution];
  expect(first).toMatchObject({ attempt: 1, status: 'FAILED', error: expect.stringMatching(/500/) });
  expect(second).toMatchObject({ attempt: 2, status: 'PENDING' });
  expect(Date.parse(second.scheduledFor) - Date.parse(first.finishedAt!)).toBe(5_000);
  // The timer reads as not fired yet, with one attempt made and the error shown.
  const timer = await getTimer(cluster, id);
  expect(timer).toMatchObject({ status: 'SCHEDULED', attempts: 1, fired_at: null });
  expect(timer.last_error).toMatch(/receiver answered 500/);
  expect(t.receiver.countsByKey('/plain-timer')).toEqual(new Map([[`timer-${id}`, 1]]));
});
