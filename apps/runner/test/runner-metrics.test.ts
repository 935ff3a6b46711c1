import type { Server } from 'node:http';
import { pickFreePort } from '@hourglass/local-postgres';
import { createRunner, type Runner } from '@hourglass/runner';
import { builtinHandlers } from '@hourglass/runner/builtin';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRunnerMetrics, metricsHooks, serveMetrics } from '../src/metrics.js';

let o: TestOrchestrator;
let runner: Runner;
let server: Server;
let port: number;
beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true });
  port = await pickFreePort();
  const metrics = createRunnerMetrics();
  server = await serveMetrics(metrics, port, '127.0.0.1');
  runner = createRunner({
    orchestratorUrl: o.url,
    handlers: builtinHandlers(),
    pollWaitSeconds: 1,
    logger: pino({ level: 'silent' }),
    hooks: metricsHooks(metrics),
    handleSignals: false,
  });
  await runner.start();
});
afterAll(async () => {
  await runner.stop();
  server.close();
  await stopTestOrchestrator(o);
});

test('a runner serves its own metrics: handled and failed executions, in flight', async () => {
  await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    payload: {
      jobs: [
        { type: 'echo' },
        { type: 'sleep', payload: { durationMs: 0, failAttempts: 5 }, maxAttempts: 1 },
      ],
    },
  });
  let text = '';
  for (let i = 0; i < 50; i++) {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (
      text.includes('type="sleep",status="FAILED"} 1') &&
      text.includes('type="echo",status="SUCCEEDED"} 1')
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(text).toContain('hourglass_runner_executions_total{type="echo",status="SUCCEEDED"} 1');
  expect(text).toContain('hourglass_runner_executions_total{type="sleep",status="FAILED"} 1');
  expect(text).toContain('hourglass_runner_failures_total{type="sleep"} 1');
  expect(text).toContain('hourglass_runner_in_flight 0');
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
});
