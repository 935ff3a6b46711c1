import type { Outcome } from '@hourglass/contracts';
import { expect, test } from 'vitest';
import {
  claim,
  complete,
  completeBatch,
  createJobs,
  getExecution,
  getJob,
  jobExecutions,
  orchestratorPerFile,
  registerRunner,
} from './helpers.js';

/**
 * A report whose result the orchestrator cannot keep is not refused (issue 10, defect 2): a refused report left the
 * runner to make up an outcome. The orchestrator records the attempt as a permanent failure saying why, and the
 * job goes the way of any permanent failure (dead-lettered; a one-shot job is FAILED).
 */

const o = orchestratorPerFile();

/** A result nested 101 levels deep (one more than PostgreSQL is given). */
const deep = (levels: number): unknown => (levels === 0 ? 1 : { a: deep(levels - 1) });

async function deadLetterFor(jobId: number) {
  const res = await o.app.inject({ method: 'GET', url: '/dead-letters' });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().items as { jobId: number; error: string }[]).find((d) => d.jobId === jobId);
}

test('a batch with results that cannot be stored records each as a permanent failure saying why; the others as sent', async () => {
  const runnerId = await registerRunner(o);
  const jobs = await createJobs(o, [{}, {}, {}, {}, {}]);
  const executions = await claim(o, runnerId, { max: 5 });
  expect(executions).toHaveLength(5);
  const [nul, surrogate, tooDeep, tooLarge, fine] = executions.map((e) => e.id) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const startedAt = new Date().toISOString();
  const results: { executionId: number; outcome: Outcome }[] = [
    { executionId: nul, outcome: { status: 'SUCCEEDED', result: { text: 'a\u0000b' }, startedAt } },
    { executionId: surrogate, outcome: { status: 'SUCCEEDED', result: ['\ud800'] } },
    { executionId: tooDeep, outcome: { status: 'SUCCEEDED', result: deep(101) } },
    { executionId: tooLarge, outcome: { status: 'SUCCEEDED', resultBytes: 5_000_000, startedAt } },
    { executionId: fine, outcome: { status: 'SUCCEEDED', result: { ok: true } } },
  ];

  const verdicts = await completeBatch(o, runnerId, results);
  expect(verdicts).toEqual([
    { executionId: nul, verdict: 'recorded', status: 'FAILED' },
    { executionId: surrogate, verdict: 'recorded', status: 'FAILED' },
    { executionId: tooDeep, verdict: 'recorded', status: 'FAILED' },
    { executionId: tooLarge, verdict: 'recorded', status: 'FAILED' },
    { executionId: fine, verdict: 'recorded', status: 'SUCCEEDED' },
  ]);

  expect(await getExecution(o, nul)).toMatchObject({
    status: 'FAILED',
    errorCode: 'RESULT_INVALID',
    retryable: false,
    result: null,
    startedAt: expect.any(String),
    error:
      'the handler succeeded, but its result cannot be stored: result.text contains a character that cannot be ' +
      'stored (NUL or an unpaired surrogate)',
  });
  expect(await getExecution(o, surrogate)).toMatchObject({
    status: 'FAILED',
    errorCode: 'RESULT_INVALID',
    error: expect.stringContaining('result.0 contains a character that cannot be stored'),
  });
  expect(await getExecution(o, tooDeep)).toMatchObject({
    status: 'FAILED',
    errorCode: 'RESULT_INVALID',
    error: expect.stringContaining('is nested more than 100 levels deep'),
  });
  expect(await getExecution(o, tooLarge)).toMatchObject({
    status: 'FAILED',
    errorCode: 'RESULT_TOO_LARGE',
    retryable: false,
    result: null,
    startedAt: expect.any(String),
    error:
      'the handler succeeded, but its result (5000000 bytes of JSON) was too large to report; it was not stored',
  });
  expect(await getExecution(o, fine)).toMatchObject({ status: 'SUCCEEDED', result: { ok: true } });

  // Permanent: no second attempt; the one-shot jobs are FAILED and dead-lettered with the reason.
  for (const [i, job] of jobs.slice(0, 4).entries()) {
    expect(await jobExecutions(o, job.id), `job ${i}`).toHaveLength(1);
    expect((await getJob(o, job.id)).status, `job ${i}`).toBe('FAILED');
    expect((await deadLetterFor(job.id))?.error, `job ${i}`).toMatch(
      /^the handler succeeded, but its result/,
    );
  }
  expect((await getJob(o, jobs[4]!.id)).status).toBe('SUCCEEDED');

  // The same batch again (an answer lost on the way): the same verdicts, as duplicates, and nothing changes.
  const again = await completeBatch(o, runnerId, results);
  expect(again.map((r) => [r.verdict, r.status])).toEqual([
    ['duplicate', 'FAILED'],
    ['duplicate', 'FAILED'],
    ['duplicate', 'FAILED'],
    ['duplicate', 'FAILED'],
    ['duplicate', 'SUCCEEDED'],
  ]);
});

test('one report with a result that cannot be stored is answered 200 with the failure recorded', async () => {
  const runnerId = await registerRunner(o);
  const [job] = await createJobs(o, [{}]);
  const [e] = await claim(o, runnerId);
  const res = await complete(o, runnerId, e!.id, { status: 'SUCCEEDED', result: 'nul\u0000here' });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({
    id: e!.id,
    status: 'FAILED',
    errorCode: 'RESULT_INVALID',
    retryable: false,
  });
  expect((await getJob(o, job!.id)).status).toBe('FAILED');
});

test('an error message with characters PostgreSQL cannot store is kept readable, and the failure retried as usual', async () => {
  const runnerId = await registerRunner(o);
  const [job] = await createJobs(o, [{ maxAttempts: 2 }]);
  const [e] = await claim(o, runnerId);
  const res = await complete(o, runnerId, e!.id, {
    status: 'FAILED',
    error: 'bad\u0000byte and a lone \udc00 surrogate',
    code: 'UPSTREAM',
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({
    status: 'FAILED',
    error: 'bad\ufffdbyte and a lone \ufffd surrogate',
    errorCode: 'UPSTREAM',
    retryable: true,
  });
  const history = await jobExecutions(o, job!.id);
  expect(history.map((x) => [x.attempt, x.status])).toEqual([
    [1, 'FAILED'],
    [2, 'PENDING'],
  ]);
});
