-- The cleaner asks, per job it would delete, whether a dead letter still keeps it; and deleting a job cascades to
-- its dead letters. Both looked dead letters up by job without an index: a scan of the whole table per job.
CREATE INDEX dead_letters_job ON dead_letters (job_id);
