import { LogController } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { type OrchestratorConfig, retentionOf } from './config.js';
import { createDatabase } from './db/database.js';
import { JobLifecycle } from './lifecycle/job-lifecycle.js';
import { cleaner } from './loops/cleaner.js';
import { leaseReaper } from './loops/lease-reaper.js';
import { promoter } from './loops/promoter.js';
import { runnerLiveness } from './loops/runner-liveness.js';
import { scheduler } from './loops/scheduler.js';
import { createMetrics } from './metrics.js';
import { DbClock } from './services/db-clock.js';
import { EventFeed } from './services/event-feed.js';
import { EventSequencer } from './services/event-sequencer.js';
import { createServices } from './services/index.js';
import { JobTypeCatalog } from './services/job-type-catalog.js';
import { JobWaiters } from './services/job-waiters.js';
import { ListenConnection } from './services/listen-connection.js';
import { ReadySignal } from './services/ready-signal.js';

/** Connections opened at start: about what a replica under light load uses at once (claims, reports, loops). */
const WARM_CONNECTIONS = 4;

/**
 * One orchestrator replica: the HTTP API plus its background loops (promoter, lease reaper, runner liveness)
 * and the LISTEN connection. Every loop is safe to run in every replica at once.
 */
export async function createOrchestrator(config: OrchestratorConfig, log: Logger) {
  const database = createDatabase(config.DATABASE_URL, {
    max: config.DB_POOL_SIZE,
    applicationName: 'hourglass-orchestrator',
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  });
  const { db } = database;
  const clock = new DbClock(db);
  const listen = new ListenConnection(config.DATABASE_URL, log);
  const signal = new ReadySignal(db, listen, clock, log, config.WAKE_SAFETY_NET_MS);
  const waiters = new JobWaiters(db, listen, log, config.WAKE_SAFETY_NET_MS);
  const catalog = new JobTypeCatalog(db, listen, log);
  const metrics = createMetrics(db, { dbRefreshMs: config.METRICS_DB_REFRESH_MS });
  const sequencer = new EventSequencer(db, log, config.WAKE_SAFETY_NET_MS);
  const feed = new EventFeed(
    db,
    listen,
    sequencer,
    log,
    config.WAKE_SAFETY_NET_MS,
    config.EVENTS_KEEP_ALIVE_MS,
    config.EVENTS_MAX_STREAMS,
  );
  const lifecycle = new JobLifecycle(db, undefined, sequencer.poke);
  const services = createServices({
    db,
    lifecycle,
    metrics,
    signal,
    waiters,
    catalog,
    clock,
    timings: {
      leaseMs: config.LEASE_MS,
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
      maxWaitSeconds: config.CLAIM_MAX_WAIT_SECONDS,
    },
    log,
    blockPrivateWebhookTargets: config.WEBHOOK_BLOCK_PRIVATE_TARGETS,
    answerBytes: { claim: config.CLAIM_MAX_BYTES, list: config.LIST_MAX_BYTES },
    events: { feed, written: sequencer.poke },
  });
  // Per-request access logs (with their reqId) at LOG_LEVEL=debug only: at info they would be two lines per claim
  // and per report. Errors are logged with the reqId at any level.
  const app = buildApp(
    services,
    {
      enabled: !config.AUTH_DISABLED,
      adminKey: config.ADMIN_API_KEY,
      limits: {
        client: config.RATE_LIMIT_CLIENT_PER_MINUTE,
        runner: config.RATE_LIMIT_RUNNER_PER_MINUTE,
        admin: config.RATE_LIMIT_ADMIN_PER_MINUTE,
      },
      failedAuthPerMinute: config.RATE_LIMIT_FAILED_AUTH_PER_MINUTE,
      metricsKey: config.METRICS_API_KEY,
    },
    {
      loggerInstance: log,
      logController: new LogController({ disableRequestLogging: () => !log.isLevelEnabled('debug') }),
    },
    { dashboardDir: config.DASHBOARD_DIR },
  );
  const loops = [
    promoter(db, signal, log),
    scheduler(db, lifecycle, signal, log),
    leaseReaper(lifecycle, signal, waiters, config.REAPER_INTERVAL_MS, log, metrics),
    runnerLiveness(db, config.HEARTBEAT_INTERVAL_MS, log, sequencer.poke),
    cleaner(
      lifecycle,
      retentionOf(config),
      { everyMs: config.CLEANER_INTERVAL_MS, batch: config.CLEANER_BATCH },
      log,
      metrics,
    ),
  ];
  const clockSync = setInterval(() => void clock.sync().catch(() => {}), 60_000);
  clockSync.unref();

  return {
    app,
    services,
    db,
    /** Numbers the events written (tests read its rounds). */
    sequencer,
    /** The background loops, by name (tests read their tick counts). */
    loops: Object.fromEntries(loops.map((l) => [l.name, l])),
    /** Starts the background loops and the LISTEN connection; the HTTP server is started by `listen`. */
    async start() {
      // A few connections open before the first claims and reports (they stay open: see createDatabase).
      await database.warm(WARM_CONNECTIONS);
      await clock.sync();
      signal.start();
      await listen.start();
      sequencer.start();
      for (const loop of loops) loop.start();
    },
    async listen() {
      return app.listen({ port: config.PORT, host: config.HOST });
    },
    async close() {
      services.claims.close();
      waiters.close();
      // Event streams end (their clients reconnect elsewhere with Last-Event-ID), so the server can close.
      feed.close();
      await app.close();
      await Promise.all(loops.map((l) => l.stop()));
      await sequencer.stop();
      clearInterval(clockSync);
      signal.stop();
      await listen.stop();
      await database.destroy();
    },
  };
}

export type Orchestrator = Awaited<ReturnType<typeof createOrchestrator>>;
