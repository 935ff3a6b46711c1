import { BooleanFlag, LogFormat, LogLevel, PositiveInt, parseEnv } from '@hourglass/runtime';
import { z } from 'zod';

const DAY = 86_400;

export const OrchestratorEnv = z
  .object({
    DATABASE_URL: z
      .string({ error: 'is required (postgres://user:password@host:5432/db)' })
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().default('127.0.0.1'),
    /** Refuse webhook jobs and timers aimed at private, loopback or link-local addresses, when known at creation. */
    WEBHOOK_BLOCK_PRIVATE_TARGETS: BooleanFlag(true),
    /** Authentication is on unless this is set to true (local development only). */
    AUTH_DISABLED: BooleanFlag(false),
    /** A bootstrap admin key (16+ characters), never stored: use it to create the real keys with POST /api-keys. */
    ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Default requests per minute per key, by scope (a key may set its own). */
    RATE_LIMIT_CLIENT_PER_MINUTE: PositiveInt(1_200),
    RATE_LIMIT_RUNNER_PER_MINUTE: PositiveInt(60_000),
    RATE_LIMIT_ADMIN_PER_MINUTE: PositiveInt(6_000),
    /** Failed authentications per client address per minute (per replica) before that address gets 429s. */
    RATE_LIMIT_FAILED_AUTH_PER_MINUTE: PositiveInt(60),
    /** When set, GET /metrics needs this key (Authorization: Bearer or X-API-Key); unset, it is public. */
    METRICS_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Gauges read from the database (backlog, runners) are refreshed at most this often, however often scraped. */
    METRICS_DB_REFRESH_MS: PositiveInt(5_000),
    /**
     * The built dashboard served at /ui (apps/dashboard/dist, as `pnpm build` makes it). Default: `ui/` beside the
     * production bundle (the image), else apps/dashboard/dist in the checkout.
     */
    DASHBOARD_DIR: z.string().min(1).optional(),
    LOG_LEVEL: LogLevel,
    LOG_FORMAT: LogFormat,
    /** How long a claim holds an execution without a heartbeat. */
    LEASE_MS: PositiveInt(30_000),
    /** How often runners are told to heartbeat; 3 missed beats make a runner OFFLINE. */
    HEARTBEAT_INTERVAL_MS: PositiveInt(10_000),
    /** Longest long-poll a runner may ask for. */
    CLAIM_MAX_WAIT_SECONDS: z.coerce.number().int().min(0).max(60).default(30),
    /**
     * A claim answer stops adding executions once their payloads pass this many bytes (at least one is always
     * handed out), whatever `max` asked for: 1,000 claims of 1 MiB payloads would otherwise build 1 GiB.
     */
    CLAIM_MAX_BYTES: PositiveInt(4 * 1024 * 1024),
    /** A list page (jobs, executions, dead letters) ends early, with a nextCursor, once its rows pass this size. */
    LIST_MAX_BYTES: PositiveInt(4 * 1024 * 1024),
    REAPER_INTERVAL_MS: PositiveInt(1_000),
    /** Waiting claims re-check this often even without a notification (covers a LISTEN reconnect). */
    WAKE_SAFETY_NET_MS: PositiveInt(1_000),
    DB_POOL_SIZE: PositiveInt(20),
    /**
     * The hot statements (claim, report, create) run as named prepared statements, the claim's and report's with
     * plans kept per connection (db/prepared.ts). Set false behind a pooler in transaction mode that cannot carry
     * them.
     */
    DATABASE_PREPARED_STATEMENTS: BooleanFlag(true),
    /** Retention (seconds after a job finished): then the job and its history are deleted by the cleaner. */
    RETENTION_SUCCEEDED_SECONDS: PositiveInt(7 * DAY),
    RETENTION_CANCELLED_SECONDS: PositiveInt(7 * DAY),
    RETENTION_FAILED_SECONDS: PositiveInt(30 * DAY),
    /** A dead letter not requeued (and its job) is kept this long; 0 keeps it until it is requeued or deleted. */
    RETENTION_DEAD_LETTERS_SECONDS: z.coerce.number().int().min(0).default(0),
    RETENTION_SKIPPED_OCCURRENCES_SECONDS: PositiveInt(7 * DAY),
    RETENTION_OFFLINE_RUNNERS_SECONDS: PositiveInt(DAY),
    /** Events of GET /events are kept this long (a client resuming with an older Last-Event-ID gets what is left). */
    RETENTION_EVENTS_SECONDS: PositiveInt(7 * DAY),
    /** A quiet event stream gets a `: keep-alive` comment this often (proxies close idle connections). */
    EVENTS_KEEP_ALIVE_MS: PositiveInt(15_000),
    /** GET /events streams one replica serves at once; one more is a 429 (clients retry, or use another replica). */
    EVENTS_MAX_STREAMS: PositiveInt(100),
    /** How often the cleaner runs, and the most rows one of its statements deletes. */
    CLEANER_INTERVAL_MS: PositiveInt(60_000),
    CLEANER_BATCH: PositiveInt(200),
    /** Apply pending migrations at start (on by default; several replicas starting at once is safe). */
    MIGRATE_ON_START: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
  })
  .refine((e) => e.HEARTBEAT_INTERVAL_MS * 2 <= e.LEASE_MS, {
    message: 'must be at most half of LEASE_MS, so one lost heartbeat does not cost a lease',
    path: ['HEARTBEAT_INTERVAL_MS'],
  });

export type OrchestratorConfig = z.output<typeof OrchestratorEnv>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OrchestratorConfig {
  return parseEnv(OrchestratorEnv, env, 'orchestrator');
}

/** The retention settings, as the cleaner takes them. */
export function retentionOf(config: OrchestratorConfig) {
  return {
    succeeded: config.RETENTION_SUCCEEDED_SECONDS,
    cancelled: config.RETENTION_CANCELLED_SECONDS,
    failed: config.RETENTION_FAILED_SECONDS,
    deadLetters: config.RETENTION_DEAD_LETTERS_SECONDS === 0 ? null : config.RETENTION_DEAD_LETTERS_SECONDS,
    skippedOccurrences: config.RETENTION_SKIPPED_OCCURRENCES_SECONDS,
    offlineRunners: config.RETENTION_OFFLINE_RUNNERS_SECONDS,
    events: config.RETENTION_EVENTS_SECONDS,
  };
}

/** The retention defaults (RETENTION_* unset). */
export const DEFAULT_RETENTION = retentionOf(OrchestratorEnv.parse({ DATABASE_URL: 'postgres://defaults' }));
