import type { ExecutionStatus, JobStatus, RunnerStatus } from '@hourglass/contracts';

/** Row shapes the queue's raw SQL returns (snake_case, as stored). */

export interface JobRow {
  id: number;
  type: string;
  payload: unknown;
  status: JobStatus;
  priority: number;
  max_attempts: number;
  backoff_initial_ms: number;
  backoff_factor: number;
  backoff_max_ms: number;
  backoff_jitter: boolean;
  timeout_ms: number | null;
  run_at: Date;
  idempotency_key: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  kind: 'once' | 'cron' | 'interval';
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  next_run_at: Date | null;
  overlap_policy: 'skip' | 'allow' | 'queue';
  catch_up_policy: 'fire_once' | 'fire_all' | 'skip';
  /** Seconds the job is kept after it finished (null: its status's default, RETENTION_*). */
  retention_seconds: number | null;
  keep_forever: boolean;
  /** Completion callback URL (issue 13), and how many final states were announced to it. */
  callback_url: string | null;
  callbacks_sent: number;
  /** The job's queue (issue 14), its concurrency key, and its unique key with the statuses that key holds in. */
  queue: string;
  concurrency_key: string | null;
  unique_key: string | null;
  unique_states: string[] | null;
  /** Flows (issue 14): the flow it was created in and its ref there; its parents, those not settled yet, and what a
   * failed parent does to it; whether some job depends on it. */
  flow_id: number | null;
  flow_ref: string | null;
  parent_count: number;
  waiting_parents: number;
  on_parent_failure: 'cancel' | 'run' | null;
  has_dependents: boolean;
}

export interface ExecutionRow {
  id: number;
  job_id: number;
  job_type: string;
  priority: number;
  attempt: number;
  status: ExecutionStatus;
  ready: boolean;
  scheduled_for: Date;
  runner_id: string | null;
  lease_expires_at: Date | null;
  cancel_requested: boolean;
  created_at: Date;
  claimed_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  error: string | null;
  result: unknown;
  retryable: boolean | null;
  error_code: string | null;
  progress: unknown;
  progress_at: Date | null;
  one_shot: boolean;
  occurrence_id: number | null;
  queue: string;
  /** The job's concurrency key, '' without one. */
  concurrency_key: string;
}

export interface RunnerRow {
  id: string;
  name: string;
  host: string;
  types: string[];
  capacity: number;
  status: RunnerStatus;
  registered_at: Date;
  last_heartbeat_at: Date;
  /** The schema hash this runner declared per type. */
  schema_hashes: Record<string, string>;
  /** The queues it serves (null: all). */
  queues: string[] | null;
}

export interface DeadLetterRow {
  id: number;
  job_id: number;
  execution_id: number;
  job_type: string;
  attempts: number;
  error: string | null;
  created_at: Date;
  requeued_at: Date | null;
  requeue_execution_id: number | null;
}

/** What the queue returns about executions it just finished (for metrics). */
export interface FinishedExecutionRow {
  id: number;
  job_type: string;
  status: ExecutionStatus;
  created_at: Date;
  claimed_at: Date | null;
  started_at: Date | null;
  finished_at: Date;
}
