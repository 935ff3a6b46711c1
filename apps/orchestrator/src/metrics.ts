import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from './db/database.js';
import { type Gauges, readGauges } from './queue/read-gauges.js';
import type { FinishedExecutionRow } from './queue/rows.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The orchestrator's Prometheus metrics (prom-client), served at GET /metrics. Counters count what this replica
 * did; gauges read the shared database, so every replica reports the same backlog and runner counts.
 */
export function createMetrics(db: Db, opts: { dbRefreshMs: number } = { dbRefreshMs: 5_000 }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hourglass_orchestrator_' });
  const m = {
    registry,
    jobsCreated: new Counter({
      name: 'hourglass_jobs_created_total',
      help: 'Jobs created, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    executionsFinished: new Counter({
      name: 'hourglass_executions_finished_total',
      help: 'Executions finished, by type and final status (SUCCEEDED, FAILED, CANCELLED, TIMED_OUT)',
      labelNames: ['type', 'status'] as const,
      registers: [registry],
    }),
    claimToStart: new Histogram({
      name: 'hourglass_claim_to_start_seconds',
      help: 'From an execution being claimed to its handler starting (as the runner reports)',
      labelNames: ['type'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    createToFinish: new Histogram({
      name: 'hourglass_create_to_finish_seconds',
      help: 'From an execution being created to its outcome being recorded',
      labelNames: ['type', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: 'hourglass_retention_deleted_total',
      help: 'Rows the cleaner deleted because their retention ran out, by kind (jobs, executions, occurrences, runners)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    leaseExpiries: new Counter({
      name: 'hourglass_lease_expiries_total',
      help: 'Executions timed out because their lease expired',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'hourglass_webhook_deliveries_total',
      help: 'Webhook attempts, by outcome (delivered, failed, cancelled, timed_out)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    httpRequests: new Histogram({
      name: 'hourglass_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status code (long-polls included)',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };

  // Read from the database at most once per `dbRefreshMs`, however often (or by how many) /metrics is scraped.
  let snapshot: { at: number; gauges: Promise<Gauges> } | undefined;
  const gauges = () => {
    const now = Date.now();
    if (!snapshot || now - snapshot.at >= opts.dbRefreshMs) {
      const fresh = { at: now, gauges: readGauges(db) };
      fresh.gauges.catch(() => {
        if (snapshot === fresh) snapshot = undefined; // a failed read is not kept
      });
      snapshot = fresh;
    }
    return snapshot.gauges;
  };
  new Gauge({
    name: 'hourglass_backlog_due',
    help: 'Executions due and waiting to be claimed (counted up to 1,000,000; refreshed every METRICS_DB_REFRESH_MS)',
    registers: [registry],
    async collect() {
      this.set((await gauges()).backlogDue);
    },
  });
  new Gauge({
    name: 'hourglass_runners',
    help: 'Runners by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      for (const [status, n] of Object.entries((await gauges()).runners)) this.set({ status }, n);
    },
  });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Records finished executions (from completions, the reaper and deregistration). */
export function recordFinished(m: Metrics, rows: FinishedExecutionRow[]): void {
  for (const r of rows) {
    m.executionsFinished.inc({ type: r.job_type, status: r.status });
    m.createToFinish.observe(
      { type: r.job_type, status: r.status },
      (r.finished_at.getTime() - r.created_at.getTime()) / 1000,
    );
    if (r.claimed_at && r.started_at) {
      m.claimToStart.observe(
        { type: r.job_type },
        Math.max(0, r.started_at.getTime() - r.claimed_at.getTime()) / 1000,
      );
    }
    if (r.job_type === 'webhook') {
      const outcome = r.status === 'SUCCEEDED' ? 'delivered' : r.status.toLowerCase();
      m.webhookDeliveries.inc({ outcome });
    }
  }
}
