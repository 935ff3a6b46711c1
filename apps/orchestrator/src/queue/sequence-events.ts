import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** The channel that tells every replica the events were numbered up to an id (payload: that id). */
export const EVENTS_CHANNEL = 'hourglass_events';

/**
 * One round of the event sequencer (see 0012_events.sql for why events are numbered here and not by their
 * writers): moves about `batch` outbox events into `events`, numbered after the last id handed out, in outbox order.
 *
 * The round is the function hourglass_sequence_events (0016_sequencer_round.sql), one round trip where it was six.
 * Its first statement takes the row lock on event_sequencer, held to commit, which makes rounds strictly one after
 * the other across every replica; the move is a second statement, with a snapshot taken once the lock is held,
 * after the previous round committed. Whatever a round's snapshot sees is committed; whatever it does not see (a
 * writer still in progress, however low its outbox seq) stays for a later round and gets a higher id. A reader
 * sees a round whole or not at all, so it can never see an id and later find a lower one appear.
 *
 * The NOTIFY is sent inside the round, so it is delivered exactly when the round commits (one per round, however
 * many events it numbered; a round that moved nothing sends none).
 */
export async function sequenceEvents(db: Db, batch: number): Promise<{ moved: number; lastId: number }> {
  const { rows } = await sql<{ moved_count: number; last_event_id: number }>`
    SELECT moved_count, last_event_id FROM hourglass_sequence_events(${batch}::int, ${EVENTS_CHANNEL}::text)
  `.execute(db);
  const { moved_count, last_event_id } = rows[0]!;
  return { moved: moved_count, lastId: last_event_id };
}

/** The last event id handed out (0 before the first): where a stream "from now" starts. */
export async function lastEventId(db: Db): Promise<number> {
  const { rows } = await sql<{ last_id: number }>`SELECT last_id FROM event_sequencer`.execute(db);
  return Number(rows[0]?.last_id ?? 0);
}
