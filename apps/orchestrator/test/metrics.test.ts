import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator({
    env: { AUTH_DISABLED: 'false', ADMIN_API_KEY: 'metrics-test-admin-key', METRICS_DB_REFRESH_MS: '1' },
  });
});
afterAll(() => stopTestOrchestrator(o));

const metric = (text: string, name: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');

test('GET /metrics is public Prometheus text and counts what happened', async () => {
  const auth = { authorization: 'Bearer metrics-test-admin-key' };
  const created = await o.app.inject({
    method: 'POST',
    url: '/jobs',
    headers: auth,
    payload: { type: 'echo' },
  });
  expect(created.statusCode).toBe(201);
  const res0 = await o.app.inject({
    method: 'POST',
    url: '/runners/register',
    headers: auth,
    payload: { name: 'm', host: 'h', types: ['echo'], capacity: 1 },
  });
  const runner = res0.json().id;
  const claim = await o.app.inject({
    method: 'POST',
    url: `/runners/${runner}/next-job?max=1&wait=2`,
    headers: auth,
  });
  const e = claim.json().executions[0];
  const done = await o.app.inject({
    method: 'POST',
    url: `/executions/${e.id}/complete`,
    headers: auth,
    payload: { runnerId: runner, outcome: { status: 'SUCCEEDED', startedAt: new Date().toISOString() } },
  });
  expect(done.statusCode).toBe(200);

  const res = await o.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/text\/plain/);
  const text = res.body;
  expect(metric(text, 'hourglass_jobs_created_total{')).toContain('type="echo"} 1');
  expect(metric(text, 'hourglass_executions_finished_total{')).toContain('type="echo",status="SUCCEEDED"} 1');
  expect(metric(text, 'hourglass_claim_to_start_seconds_count')).toContain('type="echo"} 1');
  expect(metric(text, 'hourglass_runners{')).toContain('status="ONLINE"} 1');
  expect(text).toContain('hourglass_backlog_due 0');
  expect(metric(text, 'hourglass_http_request_duration_seconds_count')).toContain(
    'route="/jobs",status_code="201"',
  );
});

test('the due backlog gauge counts due, unclaimed executions', async () => {
  await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    headers: { authorization: 'Bearer metrics-test-admin-key' },
    payload: { jobs: [{ type: 'noop' }, { type: 'noop' }, { type: 'noop', delayMs: 3_600_000 }] },
  });
  const text = (await o.app.inject({ method: 'GET', url: '/metrics' })).body;
  expect(text).toContain('hourglass_backlog_due 2');
});
