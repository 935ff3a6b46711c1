import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { DeadLetterRow } from './rows.js';
import { atOrNow } from './timing.js';

/** Locks a dead letter (before its job: the lifecycle then locks the job). */
export async function lockDeadLetter(trx: Db, id: number): Promise<DeadLetterRow | undefined> {
  const { rows } = await sql<DeadLetterRow>`SELECT * FROM dead_letters WHERE id = ${id} FOR UPDATE`.execute(
    trx,
  );
  return rows[0];
}

/** Marks a dead letter requeued; it is kept as the record of what happened. */
export async function markRequeued(trx: Db, id: number, executionId: number, at: Date | null): Promise<void> {
  await sql`
    UPDATE dead_letters SET requeued_at = ${atOrNow(at)}, requeue_execution_id = ${executionId} WHERE id = ${id}
  `.execute(trx);
}
