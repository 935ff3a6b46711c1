import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { JobRow } from './rows.js';

export interface FlowRows {
  id: number;
  /** Its jobs, parents first (ids are given in that order). */
  jobs: JobRow[];
  /** Every edge of its jobs: `job_id` waits for `parent_id` (a parent may be outside the flow). */
  edges: { job_id: number; parent_id: number }[];
}

/** A flow's jobs and edges (jobs_flow, job_dependencies' key); undefined when it has no jobs (unknown, or cleaned). */
export async function readFlow(db: Db, flowId: number): Promise<FlowRows | undefined> {
  const { rows: jobs } = await sql<JobRow>`
    SELECT * FROM jobs WHERE flow_id = ${flowId} ORDER BY id
  `.execute(db);
  if (jobs.length === 0) return undefined;
  const { rows: edges } = await sql<{ job_id: number; parent_id: number }>`
    SELECT d.job_id, d.parent_id FROM job_dependencies d
    WHERE d.job_id = ANY(${jobs.map((j) => j.id)}::bigint[])
    ORDER BY d.job_id, d.parent_id
  `.execute(db);
  return { id: flowId, jobs, edges };
}

/** The ids of a job's parents. */
export async function parentsOf(db: Db, jobId: number): Promise<number[]> {
  const { rows } = await sql<{ parent_id: number }>`
    SELECT parent_id FROM job_dependencies WHERE job_id = ${jobId} ORDER BY parent_id
  `.execute(db);
  return rows.map((r) => r.parent_id);
}
