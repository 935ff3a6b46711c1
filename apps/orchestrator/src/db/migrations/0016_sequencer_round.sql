-- Issue 14/15: a round of the event sequencer in one round trip. A round was six (BEGIN, lock_timeout, the lock on
-- event_sequencer, the move, the NOTIFY, COMMIT); under a queue with a small limit the sequencer runs about twice per
-- claim-and-report cycle, and those round trips (a socket write and a wake-up of a backend each) cost the
-- orchestrator more CPU than the events themselves (pnpm bench --scenario profile on the `concurrency: 50` run).
--
-- The semantics are those of queue/sequence-events.ts, unchanged: the lock is taken by a first statement and held
-- to commit, so rounds are strictly one after the other across every replica; the move is a second statement, and a
-- VOLATILE function takes a fresh snapshot for each statement it runs (READ COMMITTED), so the move sees everything
-- committed before the lock was granted. The NOTIFY is delivered when the caller's transaction commits.
CREATE FUNCTION hourglass_sequence_events(batch int, channel text)
RETURNS TABLE (moved_count int, last_event_id bigint)
LANGUAGE plpgsql VOLATILE
SET lock_timeout = '5s'
AS $$
DECLARE
  previous bigint;
BEGIN
  SELECT s.last_id INTO previous FROM event_sequencer s FOR UPDATE;
  -- ctid: the outbox has no index (its writers are the claim and report paths); a TID scan finds the picked rows.
  -- Rows (one per writing statement) are taken in seq order while the events before them number fewer than
  -- `batch`; the first is always taken.
  WITH picked AS (
    SELECT p.row FROM (
      SELECT o.ctid AS row, sum(o.n) OVER (ORDER BY o.seq ROWS UNBOUNDED PRECEDING) - o.n AS before
      FROM (SELECT ctid, seq, n FROM event_outbox ORDER BY seq LIMIT batch) o
    ) p
    WHERE p.before < batch
  ),
  taken AS (
    DELETE FROM event_outbox WHERE ctid = ANY(ARRAY(SELECT row FROM picked))
    RETURNING seq, events
  ),
  numbered AS (
    INSERT INTO events (id, kind, at, job_id, execution_id, runner_id, job_type, data)
    SELECT previous + row_number() OVER (ORDER BY t.seq, x.ord), x.kind, x.at, x.job_id, x.execution_id,
           x.runner_id, x.job_type, x.data
    FROM taken t
    CROSS JOIN LATERAL unnest(t.events) WITH ORDINALITY
      AS x(kind, at, job_id, execution_id, runner_id, job_type, data, ord)
    RETURNING id
  )
  UPDATE event_sequencer s SET last_id = coalesce((SELECT max(id) FROM numbered), s.last_id)
  RETURNING (SELECT count(*) FROM numbered)::int, s.last_id INTO moved_count, last_event_id;
  IF moved_count > 0 THEN
    PERFORM pg_notify(channel, last_event_id::text);
  END IF;
  RETURN NEXT;
END
$$;
