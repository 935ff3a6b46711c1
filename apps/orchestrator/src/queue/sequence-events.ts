import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** The channel that tells every replica the events were numbered up to an id (payload: that id). */
export const EVENTS_CHANNEL = 'hourglass_events';

/**
 * One round of the event sequencer (see 0012_events.sql for why events are numbered here and not by their
 * writers): moves about `batch` outbox events into `events`, numbered after the last id handed out, in outbox order.
 *
 * The row lock on event_sequencer, taken by the first statement and held to commit, makes rounds strictly one after
 * the other across every replica; the move is a second statement so that its snapshot is taken once the lock is
 * held, after the previous round committed. Whatever a round's snapshot sees is committed; whatever it does not see
 * (a writer still in progress, however low its outbox seq) stays for a later round and gets a higher id. A reader
 * sees a round whole or not at all, so it can never see an id and later find a lower one appear.
 *
 * The NOTIFY is sent inside the round, so it is delivered exactly when the round commits (one per round, however
 * many events it numbered; a round that moved nothing sends none).
 */
export async function sequenceEvents(db: Db, batch: number): Promise<{ moved: number; lastId: number }> {
  return db.transaction().execute(async (trx) => {
    // Another replica's round holds the lock for milliseconds; a stuck one must not hold this replica's loop forever.
    await sql`SELECT set_config('lock_timeout', '5s', true)`.execute(trx);
    const { rows: held } = await sql<{ last_id: number }>`
      SELECT last_id FROM event_sequencer FOR UPDATE
    `.execute(trx);
    const lastId = Number(held[0]!.last_id);
    // ctid: the outbox has no index (its writers are the claim and report paths); a TID scan finds the picked rows.
    // Rows (one per writing statement, see outboxInsert) are taken in seq order while the events before them number
    // fewer than `batch`; the first is always taken.
    const { rows } = await sql<{ moved: number; last_id: number }>`
      WITH picked AS (
        SELECT row FROM (
          SELECT ctid AS row, sum(n) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) - n AS before
          FROM (SELECT ctid, seq, n FROM event_outbox ORDER BY seq LIMIT ${batch}) o
        ) p
        WHERE before < ${batch}
      ),
      moved AS (
        DELETE FROM event_outbox WHERE ctid = ANY(ARRAY(SELECT row FROM picked))
        RETURNING seq, events
      ),
      numbered AS (
        INSERT INTO events (id, kind, at, job_id, execution_id, runner_id, job_type, data)
        SELECT ${lastId}::bigint + row_number() OVER (ORDER BY m.seq, x.ord), x.kind, x.at, x.job_id, x.execution_id,
               x.runner_id, x.job_type, x.data
        FROM moved m
        CROSS JOIN LATERAL unnest(m.events) WITH ORDINALITY
          AS x(kind, at, job_id, execution_id, runner_id, job_type, data, ord)
        RETURNING id
      )
      UPDATE event_sequencer SET last_id = coalesce((SELECT max(id) FROM numbered), last_id)
      RETURNING (SELECT count(*) FROM numbered)::int AS moved, last_id
    `.execute(trx);
    const { moved, last_id } = rows[0]!;
    if (moved > 0) await sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${String(last_id)})`.execute(trx);
    return { moved, lastId: Number(last_id) };
  });
}

/** The last event id handed out (0 before the first): where a stream "from now" starts. */
export async function lastEventId(db: Db): Promise<number> {
  const { rows } = await sql<{ last_id: number }>`SELECT last_id FROM event_sequencer`.execute(db);
  return Number(rows[0]?.last_id ?? 0);
}
