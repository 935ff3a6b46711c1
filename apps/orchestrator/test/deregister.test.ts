import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claim, createJob, getExecution, jobExecutions, registerRunner } from './helpers.js';

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

test('deregistering with `started` fails only what the runner started; the rest goes back to PENDING', async () => {
  const runner = await registerRunner(o, { types: ['echo'] });
  const a = await createJob(o, { payload: 'started' });
  const b = await createJob(o, { payload: 'never reached the runner' });
  const claimed = await claim(o, runner, { max: 2 });
  expect(claimed.map((e) => e.jobId).sort()).toEqual([a.id, b.id].sort());
  const started = claimed.find((e) => e.jobId === a.id)!;
  const lost = claimed.find((e) => e.jobId === b.id)!;

  const res = await o.app.inject({
    method: 'DELETE',
    url: `/runners/${runner}`,
    payload: { started: [started.id] },
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toEqual({ abandoned: [started.id], released: [lost.id] });

  // The started one spent its attempt; the other is the same attempt 1, claimable again by anyone.
  expect((await jobExecutions(o, a.id)).map((x) => [x.attempt, x.status])).toEqual([
    [1, 'FAILED'],
    [2, 'PENDING'],
  ]);
  expect(await getExecution(o, lost.id)).toMatchObject({ attempt: 1, status: 'PENDING', runnerId: null });
  const other = await registerRunner(o, { types: ['echo'] });
  const again = await claim(o, other, { max: 5 });
  expect(again.map((e) => e.id)).toEqual([lost.id]);
});

test('deregistering an unknown runner is a 404 and changes nothing', async () => {
  const res = await o.app.inject({
    method: 'DELETE',
    url: '/runners/00000000-0000-4000-8000-000000000000',
    payload: { started: [] },
  });
  expect(res.statusCode).toBe(404);
});
