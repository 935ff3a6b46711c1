-- The event stream (issue 13). Every state change worth following is written, in the transaction that makes it, to
-- event_outbox; a sequencer (services/event-sequencer.ts, queue/sequence-events.ts) moves committed outbox rows into
-- `events`, numbering them. GET /events serves `events` in id order.
--
-- Why two tables (the outbox visibility problem): ids taken from a sequence by the writers themselves are not
-- visible in id order. A transaction that took id 10 may commit after one that took id 11; a reader that served 11
-- and resumes "after 11" would never see 10. Here writers take no public id at all. The sequencer, one at a time
-- across every replica (it holds the row lock on event_sequencer until it commits), moves whatever outbox rows its
-- snapshot sees and numbers them after the last id it handed out. A row committed after that snapshot is still in
-- the outbox and gets a higher id in a later round; a reader only ever sees whole rounds (each is one
-- transaction), so ids appear in increasing order and none appears below one already visible.
--
-- The outbox has no index: writers on the claim and report paths pay one heap insert per event, the indexes of
-- `events` are built by the sequencer off those paths.
CREATE TABLE event_outbox (
  seq bigserial NOT NULL,
  kind text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  job_id bigint,
  execution_id bigint,
  runner_id text,
  job_type text,
  data jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE events (
  id bigint PRIMARY KEY,
  kind text NOT NULL,
  at timestamptz NOT NULL,
  job_id bigint,
  execution_id bigint,
  runner_id text,
  job_type text,
  data jsonb NOT NULL DEFAULT '{}'
);
-- A job's events (the jobId filter, a dashboard's job page) in id order. Only this one: every index here is paid
-- for on every event (four per job at least); `type` and `kinds` walk the primary key in bounded windows
-- (queue/read-events.ts), and retention deletes the lowest ids (queue/clean-history.ts).
CREATE INDEX events_job ON events (job_id, id) WHERE job_id IS NOT NULL;

-- The sequencer's lock and the last id it handed out (ids never go back, even once retention emptied `events`).
CREATE TABLE event_sequencer (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_id bigint NOT NULL DEFAULT 0
);
INSERT INTO event_sequencer DEFAULT VALUES;

-- Completion callbacks: where to POST the job once final, and how many final states have been announced (the key
-- of the n-th delivery is callback-<job id>, then callback-<job id>-<n>).
ALTER TABLE jobs ADD COLUMN callback_url text;
ALTER TABLE jobs ADD COLUMN callbacks_sent int NOT NULL DEFAULT 0;
