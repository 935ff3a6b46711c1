import { PARENT_RESULTS_MAX_BYTES } from '@hourglass/contracts';
import { type RawBuilder, sql } from 'kysely';

/**
 * The parents of claimed jobs, for the claim answer (flows, issue 14). Both fragments are `CASE WHEN
 * parent_count > 0`: PostgreSQL runs the subquery only for a job that has parents, so a claim of ordinary jobs reads
 * one more column of a row it reads anyway, and nothing else.
 */

/** A parent's result: its last SUCCEEDED execution's (executions_job, walked backwards from the newest). */
const parentsWithResults = (jobId: RawBuilder<unknown>) => sql`
  SELECT p.id, p.type, p.status, r.result,
         sum(coalesce(octet_length(r.result::text), 0)) OVER (ORDER BY d.parent_id ROWS UNBOUNDED PRECEDING) AS total
  FROM job_dependencies d
  JOIN jobs p ON p.id = d.parent_id
  LEFT JOIN LATERAL (
    SELECT e.result FROM executions e WHERE e.job_id = p.id AND e.status = 'SUCCEEDED' ORDER BY e.id DESC LIMIT 1
  ) r ON true
  WHERE d.job_id = ${jobId}`;

/**
 * `parents` of a claimed job (`j` is its jobs row): each parent's id, type, status and result, in id order. Results
 * are included while together they stay within PARENT_RESULTS_MAX_BYTES; past that a parent comes with a null result
 * and `resultTruncated: true`. Null for a job without parents.
 */
export const claimedParents = sql`
  CASE WHEN j.parent_count > 0 THEN (
    SELECT jsonb_agg(jsonb_build_object('jobId', s.id, 'type', s.type, 'status', s.status)
                     || CASE WHEN s.total <= ${PARENT_RESULTS_MAX_BYTES}
                             THEN jsonb_build_object('result', s.result)
                             ELSE '{"result": null, "resultTruncated": true}'::jsonb END
                     ORDER BY s.id)
    FROM (${parentsWithResults(sql`j.id`)}) s
  ) END`;

/**
 * Bytes a claimed job's parents add to the claim answer (for its byte bound): their results within the bound, plus a
 * little per parent for the rest. 0 for a job without parents. `j` is its jobs row.
 */
export const parentBytes = sql`
  CASE WHEN j.parent_count > 0 THEN (
    SELECT least(max(s.total), ${PARENT_RESULTS_MAX_BYTES}) + 100 * count(*) FROM (${parentsWithResults(sql`j.id`)}) s
  ) ELSE 0 END`;
