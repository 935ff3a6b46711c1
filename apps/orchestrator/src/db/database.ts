import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { markNaming, namingPool } from './prepared.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

// int8 (ids, counts) as JS numbers: ids stay far below 2^53, and the API promises JSON numbers.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  destroy(): Promise<void>;
  warm(n: number): Promise<void>;
}

export function createDatabase(
  connectionString: string,
  opts: { max?: number; applicationName?: string; preparedStatements?: boolean } = {},
) {
  const preparedStatements = opts.preparedStatements ?? true;
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    types,
    application_name: opts.applicationName ?? 'hourglass',
    // Fail fast while PostgreSQL is down instead of queueing requests forever.
    connectionTimeoutMillis: 5_000,
    // Idle connections are kept a while (pg's default closes them after 10 s): a connection carries the hot
    // statements it prepared (prepared.ts), and one opened anew on the claim path costs its TCP and start-up
    // exchange plus a Parse and a plan for each of them. After a quiet spell, the first burst paid that per
    // connection it needed (the first half-second of issue 15's timer run held most of its p99).
    idleTimeoutMillis: 300_000,
    // JIT compiling costs tens to hundreds of ms and pays off only for long analytical queries; every query here
    // is short. (Measured: the claim took 270 ms on PostgreSQL 15, 240 of them JIT, once its estimated cost
    // crossed jit_above_cost.)
    options: '-c jit=off',
  });
  // A client losing its connection (database restart) must not crash the process. The pool listens on idle
  // clients; a client checked out between two statements of a transaction has no listener, and an 'error'
  // event without one throws. The failed query still rejects, and the pool drops the broken client.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: preparedStatements ? namingPool(pool) : pool }),
  });
  if (preparedStatements) markNaming(db);
  return {
    db,
    pool,
    destroy: () => db.destroy(),
    /** Opens `n` connections now (at start), so that the first requests do not each open one. */
    async warm(n: number) {
      const opened = await Promise.allSettled(
        Array.from({ length: Math.min(n, opts.max ?? 10) }, () => pool.connect()),
      );
      for (const o of opened) if (o.status === 'fulfilled') o.value.release();
      const failed = opened.find((o) => o.status === 'rejected');
      if (failed) throw failed.reason;
    },
  } satisfies DatabaseHandle;
}
