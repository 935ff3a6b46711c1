import { expect, test, vi } from 'vitest';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle.js';
import { claim, createJob, eventually, orchestratorPerFile, registerRunner } from './helpers.js';

/**
 * A runner asks again as soon as it receives work. When its last claim took everything it could (fewer than it
 * asked for, nothing left out for the answer's size) and no wake-up came since, that request waits at once without
 * claiming (services/claim-dispatcher.ts, `exhausted`); it is served on the next wake-up, and never held back when
 * work is still there. The safety net is a minute here: an answer within seconds came from a claim or a wake-up.
 */

const o = orchestratorPerFile({ WAKE_SAFETY_NET_MS: '60000', CLAIM_MAX_BYTES: '1000000' });
const blob = (kb: number) => ({ blob: 'x'.repeat(kb * 1000) });

test('after a claim that took everything, the next request waits without claiming, and is woken by new work', async () => {
  const runner = await registerRunner(o, { types: ['exhaust'], capacity: 10 });
  const first = await createJob(o, { type: 'exhaust' });
  expect((await claim(o, runner, { max: 10, wait: 5 })).map((e) => e.jobId)).toEqual([first.id]);

  const claims = vi.spyOn(JobLifecycle.prototype, 'claim');
  try {
    const startedAt = Date.now();
    const pending = claim(o, runner, { max: 10, wait: 20 });
    await eventually('the request waits', async () => (o.services.claims.waiting === 1 ? true : undefined));
    expect(claims, 'it waited without a claim that could only find nothing').not.toHaveBeenCalled();
    const second = await createJob(o, { type: 'exhaust' });
    expect((await pending).map((e) => e.jobId)).toEqual([second.id]);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(claims).toHaveBeenCalledTimes(1);
  } finally {
    claims.mockRestore();
  }
});

test('after a claim cut short by the answer size limit, the next request claims at once', async () => {
  const runner = await registerRunner(o, { types: ['exhaust-big'], capacity: 10 });
  const jobs = [
    await createJob(o, { type: 'exhaust-big', payload: blob(600) }),
    await createJob(o, { type: 'exhaust-big', payload: blob(600) }),
  ];
  // 2 × 600 kB do not fit in 1 MB: the first claim hands out one, and the other is still due.
  expect((await claim(o, runner, { max: 10, wait: 5 })).map((e) => e.jobId)).toEqual([jobs[0]!.id]);
  const startedAt = Date.now();
  expect((await claim(o, runner, { max: 10, wait: 20 })).map((e) => e.jobId)).toEqual([jobs[1]!.id]);
  expect(Date.now() - startedAt).toBeLessThan(10_000);
});
