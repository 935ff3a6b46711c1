import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the tables in migrations/. Timestamps come back as Date; bigint ids as number (see database.ts). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface JobsTable {
  id: Generated<number>;
  type: string;
  payload: Json;
  status: Generated<string>;
  priority: Generated<number>;
  max_attempts: Generated<number>;
  backoff_initial_ms: Generated<number>;
  backoff_factor: Generated<number>;
  backoff_max_ms: Generated<number>;
  backoff_jitter: Generated<boolean>;
  timeout_ms: number | null;
  run_at: Timestamp;
  idempotency_key: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  finished_at: Timestamp | null;
  kind: Generated<string>;
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  next_run_at: Timestamp | null;
  retention_seconds: number | null;
  keep_forever: Generated<boolean>;
  overlap_policy: Generated<string>;
  catch_up_policy: Generated<string>;
}

export interface OccurrencesTable {
  job_id: number;
  scheduled_for: Timestamp;
  status: string;
  reason: string | null;
  execution_id: number | null;
  created_at: DefaultedTimestamp;
  /** How many occurrences the row stands for: more than 1 for a run of skipped ones. */
  occurrence_count: Generated<number>;
  /** The last occurrence of a skipped run (null: the row is one occurrence, at scheduled_for). */
  last_scheduled_for: Timestamp | null;
}

export interface ExecutionsTable {
  id: Generated<number>;
  job_id: number;
  job_type: string;
  priority: number;
  attempt: number;
  status: Generated<string>;
  ready: boolean;
  scheduled_for: Timestamp;
  runner_id: string | null;
  lease_expires_at: Timestamp | null;
  cancel_requested: Generated<boolean>;
  created_at: DefaultedTimestamp;
  claimed_at: Timestamp | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  error: string | null;
  result: Json | null;
  retryable: boolean | null;
  error_code: string | null;
  progress: Json | null;
  progress_at: Timestamp | null;
  one_shot: Generated<boolean>;
  occurrence_id: number | null;
}

export interface RunnersTable {
  id: string;
  name: string;
  host: string;
  types: string[];
  capacity: number;
  status: Generated<string>;
  registered_at: DefaultedTimestamp;
  last_heartbeat_at: DefaultedTimestamp;
  schema_hashes: Generated<unknown>;
}

export interface JobTypesTable {
  name: string;
  payload_schema: Json | null;
  schema_hash: string | null;
  schema_version: Generated<number>;
  schema_updated_at: Timestamp | null;
  schema_runner_id: string | null;
  max_attempts: number | null;
  backoff: Json | null;
  first_declared_at: DefaultedTimestamp;
  last_declared_at: DefaultedTimestamp;
}

export interface DeadLettersTable {
  id: Generated<number>;
  job_id: number;
  execution_id: number;
  job_type: string;
  attempts: number;
  error: string | null;
  created_at: DefaultedTimestamp;
  requeued_at: Timestamp | null;
  requeue_execution_id: number | null;
}

export interface Database {
  jobs: JobsTable;
  executions: ExecutionsTable;
  runners: RunnersTable;
  dead_letters: DeadLettersTable;
  occurrences: OccurrencesTable;
  job_types: JobTypesTable;
}
