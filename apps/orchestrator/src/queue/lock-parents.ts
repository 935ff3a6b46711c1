import type { JobStatus } from '@hourglass/contracts';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface ParentRow {
  id: number;
  status: JobStatus;
  kind: 'once' | 'cron' | 'interval';
}

/**
 * Locks existing jobs that new jobs will depend on, marks them `has_dependents`, and returns their status as of the
 * lock (the latest committed one). Taken before the dependents are inserted, in the same transaction, so that a
 * parent ending at the same moment is settled one way or the other, never neither:
 * - the parent's end committed first: its status here is final, and the new job is created accordingly (due at once
 *   after a success, cancelled or released after a failure);
 * - this lock came first: the statement ending the parent waits for it, then sees `has_dependents` (it re-reads the
 *   row it waited for) and settles dependents in a statement of its own, which sees the edges this transaction
 *   committed.
 * The lock is the row lock of an UPDATE (FOR NO KEY UPDATE), taken in id order so that two creates sharing parents
 * queue rather than deadlock.
 */
export async function lockParents(trx: Db, ids: number[]): Promise<ParentRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<ParentRow>`
    UPDATE jobs j SET has_dependents = true
    WHERE j.id IN (SELECT id FROM jobs WHERE id = ANY(${ids}::bigint[]) ORDER BY id FOR NO KEY UPDATE)
    RETURNING j.id, j.status, j.kind
  `.execute(trx);
  return rows;
}

/** Ids for jobs about to be inserted (so that edges between them can be written in the same statement). */
export async function allocateJobIds(trx: Db, n: number): Promise<number[]> {
  const { rows } = await sql<{ id: number }>`
    SELECT nextval(pg_get_serial_sequence('jobs', 'id')) AS id FROM generate_series(1, ${n}::int)
  `.execute(trx);
  return rows.map((r) => r.id);
}

/** A new flow's id. */
export async function allocateFlowId(trx: Db): Promise<number> {
  const { rows } = await sql<{ id: number }>`SELECT nextval('flow_ids') AS id`.execute(trx);
  return rows[0]!.id;
}
