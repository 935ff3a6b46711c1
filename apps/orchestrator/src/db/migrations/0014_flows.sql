-- Flows: jobs that wait for jobs (issue 14, last part). A job with parents is WAITING, without any execution, until
-- every parent has SUCCEEDED; the statement that records the last parent's success creates its first execution
-- (see queue/settle-dependents.ts). A WAITING job has no execution, so nothing about the claim changes.
ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
  CHECK (status IN ('WAITING', 'SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PAUSED'));

ALTER TABLE jobs
  -- The flow the job was created in (POST /flows), from flow_ids; null for a job created on its own.
  ADD COLUMN flow_id bigint,
  -- Its `ref` in that request (GET /flows/{id} shows it).
  ADD COLUMN flow_ref text,
  -- How many parents it has (0: an ordinary job; the claim reads parents' results only when this is not 0).
  ADD COLUMN parent_count integer NOT NULL DEFAULT 0,
  -- Parents not yet settled (SUCCEEDED, or failed/cancelled with on_parent_failure 'run'): the job is released when
  -- this reaches 0. A counter, decremented by an UPDATE of the child's row, so that two parents finishing at once in
  -- two transactions cannot both miss each other's success (each decrement re-reads the row it waited for).
  ADD COLUMN waiting_parents integer NOT NULL DEFAULT 0 CHECK (waiting_parents >= 0),
  -- What a parent ending FAILED or CANCELLED does to this job: cancel it (and, in turn, its own dependents), or
  -- count as settled so that it runs anyway. Null for a job without parents.
  ADD COLUMN on_parent_failure text CHECK (on_parent_failure IN ('cancel', 'run')),
  -- Some job depends on this one. Set (under the parent's row lock) by whatever creates a dependent, and returned by
  -- the statements that end a job, which settle dependents only when it is true: jobs without dependents pay nothing.
  ADD COLUMN has_dependents boolean NOT NULL DEFAULT false;

-- One row per edge: job_id waits for parent_id. `settled` is set once the parent's outcome has been counted for
-- this child (a parent triggered again after it succeeded does not count twice).
CREATE TABLE job_dependencies (
  job_id    bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  parent_id bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  settled   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (job_id, parent_id)
);
-- A parent's dependents, read when it ends.
CREATE INDEX job_dependencies_parent ON job_dependencies (parent_id, job_id);

CREATE SEQUENCE flow_ids AS bigint;
CREATE INDEX jobs_flow ON jobs (flow_id, id) WHERE flow_id IS NOT NULL;
