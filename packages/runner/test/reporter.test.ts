import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '../../../test/helpers/orchestrator.js';
import { OrchestratorClient } from '../src/orchestrator-client.js';
import { Reporter } from '../src/reporter.js';

let o: TestOrchestrator;
let client: OrchestratorClient;
beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true });
  client = new OrchestratorClient(o.url);
});
afterAll(async () => {
  await client.close();
  await stopTestOrchestrator(o);
});

test('a report the orchestrator refuses does not block the others: it becomes a failure', async () => {
  const runner = await client.register({ name: 'r', host: 'h', types: ['echo'], capacity: 10 });
  await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    payload: { jobs: [{ type: 'echo' }, { type: 'echo' }] },
  });
  const [bad, good] = await client.nextJobs(runner.id, 2, 1);
  const reporter = new Reporter(client, () => runner.id, 100, 1, pino({ level: 'silent' }));

  // A NUL cannot be stored by PostgreSQL: the whole batch is refused with a 400.
  reporter.report(bad!.id, { status: 'SUCCEEDED', result: 'nul\u0000here' });
  reporter.report(good!.id, { status: 'SUCCEEDED', result: 'fine' });
  expect(await reporter.drain(5_000)).toBe(true);

  const get = async (id: number) => (await o.app.inject({ method: 'GET', url: `/executions/${id}` })).json();
  expect(await get(good!.id)).toMatchObject({ status: 'SUCCEEDED', result: 'fine' });
  const refused = await get(bad!.id);
  expect(refused.status).toBe('FAILED');
  expect(refused.error).toMatch(/refused this execution's report/);
});
