import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/**
 * The database's clock, read locally. Due times and leases are decided by PostgreSQL's now(); this keeps the
 * offset between it and the local clock so wake-up timers fire at the database's due time even when the
 * orchestrator's host clock drifts.
 */
export class DbClock {
  private offsetMs = 0;

  constructor(private readonly db: Db) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  async sync(): Promise<void> {
    const before = Date.now();
    const { rows } = await sql<{
      ms: number;
    }>`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`.execute(this.db);
    const after = Date.now();
    this.offsetMs = rows[0]!.ms - (before + after) / 2;
  }
}
