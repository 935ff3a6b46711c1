-- Retention (issue 12): finished work ages out. The cleaner loop (loops/cleaner.ts) deletes, in small batches:
-- one-shot jobs finished longer ago than their status's retention (their executions, occurrences and dead letters
-- go with them), old executions and occurrences of recurring jobs (the definition stays), OFFLINE runners.

-- A job's own retention: seconds after it finished (NULL: its status's default), or kept forever.
ALTER TABLE jobs ADD COLUMN retention_seconds bigint CHECK (retention_seconds >= 0);
ALTER TABLE jobs ADD COLUMN keep_forever boolean NOT NULL DEFAULT false;

-- The cleaner's walks, oldest first. Only finished rows are in them, so live work costs nothing; the executions of
-- one-shot jobs (the bulk) are not indexed here: they go with their job.
CREATE INDEX jobs_finished_once ON jobs (status, finished_at)
  WHERE kind = 'once' AND finished_at IS NOT NULL AND retention_seconds IS NULL AND NOT keep_forever;
CREATE INDEX jobs_finished_own_retention ON jobs (finished_at)
  WHERE kind = 'once' AND finished_at IS NOT NULL AND retention_seconds IS NOT NULL;
CREATE INDEX executions_recurring_finished ON executions (finished_at)
  WHERE NOT one_shot AND finished_at IS NOT NULL;
CREATE INDEX occurrences_past ON occurrences (scheduled_for) WHERE status <> 'QUEUED';
CREATE INDEX runners_offline ON runners (last_heartbeat_at) WHERE status = 'OFFLINE';
