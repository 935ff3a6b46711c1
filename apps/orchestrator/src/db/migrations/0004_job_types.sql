-- Open job types (issue 9): any well-formed type name; runners declare the types they serve, with the JSON Schema
-- of each payload and default retry settings; failures a runner reports as permanent skip the remaining attempts;
-- handlers report progress.

-- One row per declared type. The newest registration that declares a schema (or retry defaults) wins; the schema's
-- version goes up whenever its content changes, so a validator compiled for one version is never used for another.
CREATE TABLE job_types (
  name              text        PRIMARY KEY,
  -- The payload's JSON Schema, as the runner declared it; NULL when none was ever declared (nothing is checked).
  payload_schema    jsonb,
  -- sha256 of the schema's canonical text: tells a changed schema from the same one declared again.
  schema_hash       text,
  schema_version    integer     NOT NULL DEFAULT 0,
  schema_updated_at timestamptz,
  -- The runner whose registration set the current schema (no foreign key: runners may be pruned).
  schema_runner_id  uuid,
  -- Defaults for jobs of this type that set none (NULL: the system's defaults).
  max_attempts      integer     CHECK (max_attempts >= 1),
  backoff           jsonb,
  first_declared_at timestamptz NOT NULL DEFAULT now(),
  last_declared_at  timestamptz NOT NULL DEFAULT now()
);

-- The schema hash each runner declared per type ({"resize": "ab12…"}): shows runners that disagree with the current one.
ALTER TABLE runners ADD COLUMN schema_hashes jsonb NOT NULL DEFAULT '{}'::jsonb;

ALTER TABLE executions
  -- A failure the runner reported as not retryable: no more attempts, straight to the dead-letter queue.
  ADD COLUMN retryable  boolean,
  -- A stable code for the failure (PAYLOAD_INVALID, PERMANENT, or the handler's own).
  ADD COLUMN error_code text,
  -- The handler's last progress report (a number 0-100 or a small JSON object) and when it arrived.
  ADD COLUMN progress    jsonb,
  ADD COLUMN progress_at timestamptz;
