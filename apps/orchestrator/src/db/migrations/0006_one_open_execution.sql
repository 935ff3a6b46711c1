-- At most one open (PENDING or RUNNING) execution per one-shot job, enforced by the database (issue 10, defect 4):
-- a trigger and a requeue racing handed one runner two attempt-1 executions of the same one-shot job. Recurring
-- jobs may have several open at once (overlap `allow`), so executions carry whether they belong to a one-shot job.
ALTER TABLE executions ADD COLUMN one_shot boolean NOT NULL DEFAULT false;

UPDATE executions e SET one_shot = true
FROM jobs j
WHERE j.id = e.job_id AND j.kind = 'once' AND e.status IN ('PENDING', 'RUNNING');

-- Open duplicates the old code may have left: keep one per job (a running one first, else the oldest); the other
-- pending ones are cancelled, running ones run out (no longer counted as the job's open execution).
WITH ranked AS (
  SELECT id, status,
         row_number() OVER (PARTITION BY job_id ORDER BY (status = 'RUNNING') DESC, id) AS n
  FROM executions WHERE one_shot AND status IN ('PENDING', 'RUNNING')
)
UPDATE executions e
SET status = CASE WHEN r.status = 'PENDING' THEN 'CANCELLED' ELSE e.status END,
    finished_at = CASE WHEN r.status = 'PENDING' THEN now() ELSE e.finished_at END,
    error = CASE WHEN r.status = 'PENDING' THEN 'a second open execution of a one-shot job (migration 0006)'
            ELSE e.error END,
    one_shot = false
FROM ranked r
WHERE e.id = r.id AND r.n > 1;

CREATE UNIQUE INDEX executions_one_open_per_once_job ON executions (job_id)
  WHERE one_shot AND status IN ('PENDING', 'RUNNING');
