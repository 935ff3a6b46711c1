-- Recurring and delayed work (issue 4): cron and interval jobs, their occurrences, overlap and catch-up policies.

ALTER TABLE jobs
  ADD COLUMN kind text NOT NULL DEFAULT 'once' CHECK (kind IN ('once', 'cron', 'interval')),
  ADD COLUMN schedule_expression text,
  ADD COLUMN timezone text,
  ADD COLUMN interval_seconds integer CHECK (interval_seconds > 0),
  -- The next occurrence the scheduler will create (recurring jobs only; NULL when paused, cancelled or once).
  ADD COLUMN next_run_at timestamptz,
  ADD COLUMN overlap_policy text NOT NULL DEFAULT 'skip' CHECK (overlap_policy IN ('skip', 'allow', 'queue')),
  ADD COLUMN catch_up_policy text NOT NULL DEFAULT 'fire_once'
    CHECK (catch_up_policy IN ('fire_once', 'fire_all', 'skip')),
  ADD CONSTRAINT jobs_schedule_shape CHECK (
    (kind = 'once' AND schedule_expression IS NULL AND interval_seconds IS NULL) OR
    (kind = 'cron' AND schedule_expression IS NOT NULL AND timezone IS NOT NULL) OR
    (kind = 'interval' AND interval_seconds IS NOT NULL)
  );

-- The scheduler loop: recurring jobs whose next occurrence is due.
CREATE INDEX jobs_next_run ON jobs (next_run_at) WHERE kind <> 'once' AND next_run_at IS NOT NULL;

-- One row per occurrence of a recurring job, created once whichever replica gets there first: the primary key
-- is the guard (INSERT … ON CONFLICT DO NOTHING), not a lock in anyone's memory.
CREATE TABLE occurrences (
  job_id        bigint      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  scheduled_for timestamptz NOT NULL,
  -- CREATED: its execution exists; SKIPPED: the previous occurrence was still running (overlap `skip`) or it was
  -- missed during downtime (catch-up `skip` / beyond `fire_once`); QUEUED: waits for the previous to finish.
  status        text        NOT NULL CHECK (status IN ('CREATED', 'SKIPPED', 'QUEUED')),
  reason        text,
  execution_id  bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, scheduled_for)
);
CREATE INDEX occurrences_queued ON occurrences (job_id, scheduled_for) WHERE status = 'QUEUED';
