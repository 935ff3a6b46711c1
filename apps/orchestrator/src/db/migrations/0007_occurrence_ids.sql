-- Which occurrence an execution belongs to (issue 10, defect 5): stable across the retries of one occurrence,
-- distinct between occurrences, so a webhook's Idempotency-Key (and a handler's ctx.idempotencyKey) no longer makes
-- every occurrence, trigger and requeue of a job look like a duplicate of the first.
-- NULL: the job's first occurrence (the key is then the job id alone, as before); otherwise a number from this
-- sequence, taken when the occurrence's first attempt is created and copied to its retries.
CREATE SEQUENCE executions_occurrence_seq;
ALTER TABLE executions ADD COLUMN occurrence_id bigint;
