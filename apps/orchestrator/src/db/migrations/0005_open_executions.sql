-- Open (PENDING or RUNNING) executions per job (issue 10, defect 7): "is an earlier occurrence still open?" is asked
-- by the scheduler for every due recurring job on every tick, and by the completion and retry statements; through
-- executions_job it read the job's whole history (188 ms at 300,000 executions of one job). This index holds only
-- the open ones, a handful per job however long its history.
CREATE INDEX executions_open_by_job ON executions (job_id) WHERE status IN ('PENDING', 'RUNNING');
