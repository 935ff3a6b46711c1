import { createServer, type Server } from 'node:http';
import type { RunnerHooks } from '@hourglass/runner';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The runner's own Prometheus metrics: what it runs now, what it ran, how long handlers took. */
export function createRunnerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hourglass_runner_' });
  return {
    registry,
    inFlight: new Gauge({
      name: 'hourglass_runner_in_flight',
      help: 'Executions running now',
      registers: [registry],
    }),
    handled: new Counter({
      name: 'hourglass_runner_executions_total',
      help: 'Executions finished here, by type and outcome (SUCCEEDED, FAILED, CANCELLED)',
      labelNames: ['type', 'status'] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'hourglass_runner_failures_total',
      help: 'Executions that did not succeed here, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    handlerSeconds: new Histogram({
      name: 'hourglass_runner_handler_seconds',
      help: 'Handler run time, by type',
      labelNames: ['type'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300],
      registers: [registry],
    }),
  };
}

export type RunnerMetrics = ReturnType<typeof createRunnerMetrics>;

/** The runner's hooks that keep these metrics. */
export function metricsHooks(m: RunnerMetrics): RunnerHooks {
  return {
    onStart: () => m.inFlight.inc(),
    onFinish: (e, outcome, seconds) => {
      m.inFlight.dec();
      m.handlerSeconds.observe({ type: e.type }, seconds);
      m.handled.inc({ type: e.type, status: outcome.status });
      if (outcome.status !== 'SUCCEEDED') m.failures.inc({ type: e.type });
    },
  };
}

/** Serves GET /metrics (and /healthz) on `port` for Prometheus and container health checks. */
export function serveMetrics(metrics: RunnerMetrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
