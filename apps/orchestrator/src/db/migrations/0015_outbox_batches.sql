-- Issue 15: the outbox holds one row per writing statement, not one per event. A claim or report of 200 inserted
-- 200 outbox rows that the sequencer deleted again: two heap writes per event (about a quarter of the WAL a job
-- wrote) whose only purpose was to carry the event to `events`. Now a statement's events travel as one array, in
-- the statement's order; the sequencer unnests it (queue/sequence-events.ts). `n` is the array's length, so that a
-- round can bound the events it moves without reading the arrays.
CREATE TYPE outbox_event AS (
  kind text,
  at timestamptz,
  job_id bigint,
  execution_id bigint,
  runner_id text,
  job_type text,
  data jsonb
);

ALTER TABLE event_outbox ADD COLUMN events outbox_event[], ADD COLUMN n int;
-- Events written before this migration and not numbered yet keep their order (one array each, in seq order).
UPDATE event_outbox
SET events = ARRAY[ROW(kind, at, job_id, execution_id, runner_id, job_type, data)::outbox_event], n = 1;
ALTER TABLE event_outbox
  DROP COLUMN kind,
  DROP COLUMN at,
  DROP COLUMN job_id,
  DROP COLUMN execution_id,
  DROP COLUMN runner_id,
  DROP COLUMN job_type,
  DROP COLUMN data,
  ALTER COLUMN events SET NOT NULL,
  ALTER COLUMN n SET NOT NULL;
