import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * The database's clock, read locally. Due times and leases are decided by PostgreSQL's now(); this keeps the
 * offset between it and the local clock so wake-up timers fire at the database's due time even when the
 * orchestrator's host clock drifts.
 */
export class DbClock {
  private offsetMs = 0;
  /**
   * How far the offset may be off: half the round trip it was measured over (the reply was read somewhere within
   * it). Wake-up timers wait this much more, so that they do not fire before the database's clock reached the due
   * time (a claim then finds nothing, and the waiter sleeps until the safety net).
   */
  uncertaintyMs = 0;

  constructor(private readonly db: Db) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /**
   * The offset is estimated at the midpoint of a round trip, so it is only as good as the round trip is short:
   * the first query of a fresh pool also opens a connection (tens of ms, measured off by 10+ ms), which made
   * wake-up timers fire before rows were due. Keep the sample with the shortest round trip of a few.
   */
  async sync(): Promise<void> {
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      const { rows } = await sql<{
        ms: number;
      }>`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`.execute(this.db);
      const after = Date.now();
      if (after - before < best.rtt)
        best = { rtt: after - before, offset: rows[0]!.ms - (before + after) / 2 };
    }
    this.offsetMs = best.offset;
    this.uncertaintyMs = Math.ceil(best.rtt / 2);
  }
}
