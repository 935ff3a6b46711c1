import { expect, test } from 'vitest';
import {
  claimOne,
  completeOk,
  createJob,
  failed,
  orchestratorPerFile,
  registerRunner,
  succeeded,
} from './helpers.js';

/**
 * Each occurrence of a job has an identity its retries share and no other occurrence has (issue 10, defect 5):
 * what a webhook's Idempotency-Key and a handler's ctx.idempotencyKey are made of.
 */

const o = orchestratorPerFile();

const post = (url: string) => o.app.inject({ method: 'POST', url });

test('a one-shot job: retries share the first occurrence; a requeue and a trigger are new occurrences', async () => {
  const runner = await registerRunner(o, { types: ['occ-once'] });
  const job = await createJob(o, { type: 'occ-once', maxAttempts: 2, backoff: { initialDelayMs: 0 } });
  const first = await claimOne(o, runner, 2);
  expect(first.occurrenceId).toBeNull();
  await completeOk(o, runner, first.id, failed());
  const retry = await claimOne(o, runner, 2);
  expect(retry.attempt).toBe(2);
  expect(retry.occurrenceId).toBeNull(); // the same occurrence: the same key
  await completeOk(o, runner, retry.id, failed());

  const dead = (await o.app.inject({ method: 'GET', url: '/dead-letters' })).json().items;
  const letter = dead.find((d: { jobId: number }) => d.jobId === job.id);
  expect((await post(`/dead-letters/${letter.id}/requeue`)).statusCode).toBe(202);
  const requeued = await claimOne(o, runner, 2);
  expect(requeued.occurrenceId).toEqual(expect.any(Number));
  await completeOk(o, runner, requeued.id, succeeded());

  expect((await post(`/jobs/${job.id}/trigger`)).statusCode).toBe(202);
  const triggered = await claimOne(o, runner, 2);
  expect(triggered.occurrenceId).toEqual(expect.any(Number));
  expect(triggered.occurrenceId).not.toBe(requeued.occurrenceId);
});

test('a recurring job: every occurrence has its own', async () => {
  const runner = await registerRunner(o, { types: ['occ-recurring'] });
  const job = await createJob(o, { type: 'occ-recurring', intervalSeconds: 3600, overlapPolicy: 'allow' });
  const ids = new Set<number | null>();
  for (let i = 0; i < 3; i++) {
    expect((await post(`/jobs/${job.id}/trigger`)).statusCode).toBe(202);
    const e = await claimOne(o, runner, 2);
    ids.add(e.occurrenceId);
    await new Promise((r) => setTimeout(r, 5)); // occurrences are keyed by their time
  }
  expect(ids.size).toBe(3);
  expect(ids.has(null)).toBe(false);
});
