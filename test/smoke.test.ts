import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

test('a created job is claimed and completed', async () => {
  const created = await o.app.inject({
    method: 'POST',
    url: '/jobs',
    payload: { type: 'echo', payload: { x: 1 } },
  });
  expect(created.statusCode).toBe(201);
  const reg = await o.app.inject({
    method: 'POST',
    url: '/runners/register',
    payload: { name: 't', host: 'h', types: ['echo'], capacity: 1 },
  });
  const runnerId = reg.json().id;
  const claim = await o.app.inject({ method: 'POST', url: `/runners/${runnerId}/next-job?max=1&wait=1` });
  expect(claim.statusCode).toBe(200);
  const [execution] = claim.json().executions;
  expect(execution.payload).toEqual({ x: 1 });
  const done = await o.app.inject({
    method: 'POST',
    url: `/executions/${execution.id}/complete`,
    payload: { runnerId, outcome: { status: 'SUCCEEDED', result: 42 } },
  });
  expect(done.statusCode).toBe(200);
  const job = await o.app.inject({ method: 'GET', url: `/jobs/${created.json().id}` });
  expect(job.json().status).toBe('SUCCEEDED');
});
