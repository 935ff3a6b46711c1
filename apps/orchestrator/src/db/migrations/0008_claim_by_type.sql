-- The claim walks the due executions of each type the runner serves (issue 10, defect 6): with job_type leading the
-- index, a runner serving `noop` no longer walks past 300,000 due `webhook` executions to find its own (a claim
-- took 210 ms); its cost follows its own types' backlog. Replaces executions_claimable (same predicate, so every
-- other reader of "due and ready" uses this one).
CREATE INDEX executions_claimable_by_type ON executions (job_type, priority DESC, scheduled_for, id)
  WHERE status = 'PENDING' AND ready;
DROP INDEX executions_claimable;
