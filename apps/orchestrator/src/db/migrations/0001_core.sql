-- Core engine: jobs (what to run), executions (one row per attempt: the history), runners, dead letters.

CREATE TABLE jobs (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type               text        NOT NULL,
  payload            jsonb       NOT NULL DEFAULT 'null'::jsonb,
  status             text        NOT NULL DEFAULT 'SCHEDULED'
                     CHECK (status IN ('SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PAUSED')),
  -- Higher runs first among due executions.
  priority           integer     NOT NULL DEFAULT 0,
  max_attempts       integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  backoff_initial_ms integer     NOT NULL DEFAULT 5000,
  backoff_factor     double precision NOT NULL DEFAULT 2,
  backoff_max_ms     integer     NOT NULL DEFAULT 3600000,
  backoff_jitter     boolean     NOT NULL DEFAULT false,
  -- Per-execution handler timeout; NULL means the runner's default.
  timeout_ms         integer,
  run_at             timestamptz NOT NULL,
  idempotency_key    text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz
);
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_status ON jobs (status, id DESC);
CREATE INDEX jobs_type ON jobs (type, id DESC);

CREATE TABLE runners (
  id                uuid        PRIMARY KEY,
  name              text        NOT NULL,
  host              text        NOT NULL,
  types             text[]      NOT NULL,
  capacity          integer     NOT NULL CHECK (capacity >= 1),
  status            text        NOT NULL DEFAULT 'ONLINE' CHECK (status IN ('ONLINE', 'DRAINING', 'OFFLINE')),
  registered_at     timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runners_live ON runners (last_heartbeat_at) WHERE status <> 'OFFLINE';

CREATE TABLE executions (
  id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id           bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  -- Copied from the job so that claiming reads one table and one index.
  job_type         text        NOT NULL,
  priority         integer     NOT NULL,
  attempt          integer     NOT NULL CHECK (attempt >= 1),
  status           text        NOT NULL DEFAULT 'PENDING'
                   CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED')),
  -- A PENDING execution is "ready" once it is due within the promotion horizon (a few seconds). Only ready
  -- rows are in the claim index, so a claim never walks past millions of executions scheduled for later;
  -- the promoter loop flips rows to ready shortly before they are due.
  ready            boolean     NOT NULL,
  scheduled_for    timestamptz NOT NULL,
  -- No foreign key: runners may be pruned while their history stays.
  runner_id        uuid,
  lease_expires_at timestamptz,
  cancel_requested boolean     NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  claimed_at       timestamptz,
  -- When the handler started, by the runner's clock (reported with the outcome).
  started_at       timestamptz,
  finished_at      timestamptz,
  error            text,
  result           jsonb
);
-- The claim: due, ready rows by priority then due time (see queue/claim-executions.ts).
CREATE INDEX executions_claimable ON executions (priority DESC, scheduled_for, id)
  WHERE status = 'PENDING' AND ready;
-- The promoter: executions scheduled for later, by due time.
CREATE INDEX executions_waiting ON executions (scheduled_for) WHERE status = 'PENDING' AND NOT ready;
-- The lease reaper.
CREATE INDEX executions_leases ON executions (lease_expires_at) WHERE status = 'RUNNING';
-- Heartbeats and runner load.
CREATE INDEX executions_running_by_runner ON executions (runner_id) WHERE status = 'RUNNING';
-- Job history.
CREATE INDEX executions_job ON executions (job_id, id);

CREATE TABLE dead_letters (
  id                   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id               bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  execution_id         bigint      NOT NULL UNIQUE REFERENCES executions (id) ON DELETE CASCADE,
  job_type             text        NOT NULL,
  attempts             integer     NOT NULL,
  error                text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  requeued_at          timestamptz,
  requeue_execution_id bigint
);
CREATE INDEX dead_letters_open ON dead_letters (id DESC) WHERE requeued_at IS NULL;
