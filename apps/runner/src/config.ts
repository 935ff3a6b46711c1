import { hostname } from 'node:os';
import { BUILTIN_TYPES, QueueName } from '@hourglass/contracts';
import { BooleanFlag, LogFormat, LogLevel, PositiveInt, parseEnv } from '@hourglass/runtime';
import { z } from 'zod';

export const RunnerEnv = z.object({
  /**
   * The orchestrator, or several replicas comma-separated: the runner talks to one and moves to the next when
   * it cannot be reached (no load balancer needed in front of replicas).
   */
  ORCHESTRATOR_URL: z
    .string()
    .default('http://127.0.0.1:8080')
    .transform((s) =>
      s
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be http(s) URLs, comma-separated' })).min(1)),
  /** The API key this runner authenticates with (a key with the runner scope); unset when auth is off. */
  API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Executions run at once. */
  RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(10),
  RUNNER_NAME: z.string().min(1).max(200).default(`${hostname()}-${process.pid}`),
  /** Comma-separated built-in job types to run; all of them by default. */
  RUNNER_TYPES: z
    .string()
    .default(BUILTIN_TYPES.join(','))
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z.enum(BUILTIN_TYPES, {
            error: `not a built-in type (${BUILTIN_TYPES.join(', ')}); run your own types with @hourglass/runner`,
          }),
        )
        .min(1),
    ),
  /** Comma-separated queues to take work from; every queue when unset (issue 14). */
  RUNNER_QUEUES: z
    .string()
    .optional()
    .transform((s) =>
      s
        ?.split(',')
        .map((q) => q.trim())
        .filter(Boolean),
    )
    .pipe(z.array(QueueName).min(1, 'name at least one queue, or leave RUNNER_QUEUES unset').optional()),
  /** Handler time limit when the job sets none. */
  HANDLER_TIMEOUT_MS: PositiveInt(300_000),
  /** On SIGTERM/SIGINT: how long in-flight executions may take to finish before they are aborted. */
  SHUTDOWN_GRACE_MS: PositiveInt(30_000),
  /** Longest long-poll for work (the orchestrator may cap it). */
  POLL_WAIT_SECONDS: z.coerce.number().int().min(1).max(60).default(30),
  /**
   * Reports are batched, one request at a time: sent when this many are waiting, or REPORT_FLUSH_MS after the first
   * (0: at once when none is in flight; what comes meanwhile goes together in the next).
   */
  REPORT_BATCH_SIZE: PositiveInt(200),
  REPORT_FLUSH_MS: z.coerce.number().int().min(0).max(10_000).default(0),
  /** HMAC-SHA256 key for the webhook signature header; unset means webhooks go unsigned. */
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Refuse webhook targets in private, loopback and link-local ranges (on the resolved address). */
  WEBHOOK_BLOCK_PRIVATE_TARGETS: BooleanFlag(true),
  WEBHOOK_CONNECT_TIMEOUT_MS: PositiveInt(3_000),
  /** Whole webhook request, answer included. */
  WEBHOOK_TIMEOUT_MS: PositiveInt(10_000),
  /** Port of the runner's own GET /metrics and /healthz; 0 (the default) serves none. */
  RUNNER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  RUNNER_METRICS_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: LogLevel,
  LOG_FORMAT: LogFormat,
});

export type RunnerConfig = z.output<typeof RunnerEnv>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RunnerConfig {
  return parseEnv(RunnerEnv, env, 'runner');
}
