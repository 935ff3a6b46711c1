import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import type { Metrics } from '../metrics.js';
import { findExecution, listActiveExecutions } from '../queue/read-executions.js';
import { ClaimDispatcher } from './claim-dispatcher.js';
import { CompletionsService } from './completions-service.js';
import type { DbClock } from './db-clock.js';
import { DeadLettersService } from './dead-letters-service.js';
import type { EventFeed } from './event-feed.js';
import type { JobTypeCatalog } from './job-type-catalog.js';
import { JobTypesService } from './job-types-service.js';
import type { JobWaiters } from './job-waiters.js';
import { JobsService } from './jobs-service.js';
import { QueuesService } from './queues-service.js';
import type { ReadySignal } from './ready-signal.js';
import { RunnersService, type RunnerTimings } from './runners-service.js';
import { StatsService } from './stats-service.js';
import { TimersService } from './timers-service.js';

export interface ServiceDeps {
  db: Db;
  /** The one owner of job and execution state changes. */
  lifecycle: JobLifecycle;
  signal: ReadySignal;
  /** Wakes requests waiting for a job to change (`GET /jobs/{id}?wait=`). */
  waiters: JobWaiters;
  catalog: JobTypeCatalog;
  clock: DbClock;
  timings: RunnerTimings;
  log: Logger;
  /** Bounds of answers in bytes: a claim's payloads (CLAIM_MAX_BYTES), a list page (LIST_MAX_BYTES). */
  answerBytes: { claim: number; list: number };
  /** Refuse webhook jobs and timers aimed at private addresses when that is known at creation. */
  blockPrivateWebhookTargets: boolean;
  metrics: Metrics;
  /** The event stream's feed, and the sequencer's poke for events written outside the lifecycle. */
  events: { feed: EventFeed; written: () => void };
}

export function createServices({
  db,
  lifecycle,
  signal,
  waiters,
  catalog,
  clock,
  timings,
  log,
  blockPrivateWebhookTargets,
  metrics,
  answerBytes,
  events,
}: ServiceDeps) {
  const claims = new ClaimDispatcher(lifecycle, signal, timings.leaseMs, answerBytes.claim, log);
  const jobs = new JobsService(
    db,
    lifecycle,
    signal,
    waiters,
    clock,
    catalog,
    blockPrivateWebhookTargets,
    metrics,
    answerBytes.list,
  );
  return {
    db,
    metrics,
    claims,
    jobs,
    timers: new TimersService(db, jobs),
    queues: new QueuesService(db, signal, () => clock.now(), events.written),
    runners: new RunnersService(
      db,
      lifecycle,
      claims,
      signal,
      waiters,
      timings,
      catalog,
      () => clock.now(),
      events.written,
    ),
    events: events.feed,
    jobTypes: new JobTypesService(db),
    stats: new StatsService(db),
    completions: new CompletionsService(lifecycle, signal, waiters, metrics),
    deadLetters: new DeadLettersService(db, lifecycle, signal, answerBytes.list),
    executions: {
      get: (id: number) => findExecution(db, id),
      active: (limit: number) => listActiveExecutions(db, limit),
    },
  };
}

export type Services = ReturnType<typeof createServices>;
