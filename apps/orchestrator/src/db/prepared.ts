import { createHash } from 'node:crypto';
import { type CompiledQuery, type RawBuilder, sql } from 'kysely';
import type pg from 'pg';
import type { Db } from './database.js';

/**
 * Named (server-side prepared) statements with kept plans, for the hot path: a claim and a report run the same few
 * statements thousands of times a second, and PostgreSQL parsed, analysed and planned each one every time: about
 * 1.5 of the claim statement's 2.2 ms on one job (EXPLAIN: planning 1.1 ms, execution 0.5 ms; issue 15). This is
 * what graphile-worker does for its getJob and completeJob.
 *
 * - `prepared(db, statement)` runs a statement under a name: prepared once per connection (node-postgres sends the
 *   Parse the first time it sees the name on a connection), parsed never again.
 * - `hotTransaction(db, fn)` runs `fn` in a transaction that keeps ONE generic plan per named statement
 *   (plan_cache_mode = force_generic_plan, SET LOCAL, sent with the BEGIN in one round trip). Left to choose
 *   (auto), PostgreSQL planned the claim again for each call's values, as its custom plans look cheaper on paper
 *   than the generic one. The setting applies to every statement with parameters, named or not, so it is local to
 *   these transactions: their other statements (the report's retry, dead letter and flow statements, all by id)
 *   get generic plans made at each call, and the rest of the orchestrator's queries keep plans made for their
 *   values. The generic plans of the claim and the report
 *   are the same index walks and primary-key lookups as their custom plans, with sequential scans off (see
 *   HOT_SETTINGS; hot-path-plans.test.ts checks them, made on empty analysed tables, run on a backlog; PostgreSQL
 *   makes them again after an ANALYZE of a table they read).
 *
 * Statements are named by the hash of their text, so each distinct text is prepared once per connection and the
 * names never clash; only texts passed through `prepared` are named, so their number stays that of the few hot
 * statements' variants (a prepared statement holds memory on its connection for as long as the connection lives).
 * Off with DATABASE_PREPARED_STATEMENTS=false (createDatabase), for poolers in transaction mode that cannot carry
 * named statements (older PgBouncer): then both are plain statements and transactions.
 */
const names = new Map<string, string>();

/** Databases (Kysely instances) whose connections name statements; see namingPool. */
const naming = new WeakSet<object>();

/** Part of every name: a new generation names every statement anew (see `prepared`). */
let generation = 0;

/** Runs `statement` (on `db`, which may be a transaction) as a named prepared statement. */
export async function prepared<R>(db: Db, statement: RawBuilder<R>): Promise<{ rows: R[] }> {
  const compiled = statement.compile(db) as CompiledQuery<R>;
  if (!names.has(compiled.sql)) {
    const hash = createHash('sha1').update(compiled.sql).digest('hex').slice(0, 20);
    names.set(compiled.sql, `hg${generation}_${hash}`);
  }
  try {
    return await db.executeQuery(compiled);
  } catch (err) {
    // A migration changed a table a kept statement returns whole (insertJobs' RETURNING *) while this replica runs
    // (a rolling upgrade): PostgreSQL refuses to run the old statement with its new result type. Every statement
    // is prepared anew under new names; outside a transaction this one is tried again at once, inside one the
    // caller's request fails once (the transaction is aborted).
    if ((err as { code?: string }).code !== '0A000' || !/result type/.test((err as Error).message)) throw err;
    generation++;
    names.clear();
    if (db.isTransaction) throw err;
    return prepared(db, statement);
  }
}

/**
 * Set with the BEGIN of a hot transaction. A kept plan is made once, from the statistics of that moment: made on
 * near-empty tables (a quiet night's ANALYZE, a fresh start), it reads primary-key lookups as sequential scans and
 * joins claimed rows with jobs by comparing every pair, and keeps doing so on a backlog until the next ANALYZE
 * (hot-path-plans.test.ts: 143 ms for a claim of 200 on 5,000 jobs, against 9 ms). The hot statements reach every
 * row by an index, so sequential scans are switched off for their transactions: the plan keeps its shape whatever
 * the statistics were when it was made.
 */
const HOT_SETTINGS = 'SET LOCAL enable_seqscan = off';

/** Runs `fn` in a transaction whose named statements keep one generic plan per connection (see above). */
export async function hotTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (!naming.has(db)) {
    return db.transaction().execute(async (trx) => {
      await sql.raw(HOT_SETTINGS).execute(trx);
      return fn(trx);
    });
  }
  return db.connection().execute(async (conn) => {
    let result: T;
    try {
      await sql.raw(`BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; ${HOT_SETTINGS}`).execute(conn);
      result = await fn(conn);
    } catch (err) {
      // Also after a BEGIN whose settings failed: the connection must not go back to the pool inside a transaction.
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      throw err;
    }
    await sql`COMMIT`.execute(conn);
    return result;
  });
}

/** Marks `db` as one whose pool is a namingPool (createDatabase). */
export function markNaming(db: Db): void {
  naming.add(db);
}

/**
 * The pool Kysely is given: the same connections, whose queries of a text `prepared` has seen go out under its
 * name (node-postgres prepares a name on a connection the first time and reuses it after).
 */
export function namingPool(pool: pg.Pool) {
  return {
    async connect() {
      const client = await pool.connect();
      return {
        // biome-ignore lint/suspicious/noExplicitAny: Kysely passes SQL text or a cursor; both go to pg as given.
        query(text: any, values?: readonly unknown[]): any {
          const name = typeof text === 'string' ? names.get(text) : undefined;
          return name
            ? client.query({ name, text, values: values as unknown[] })
            : client.query(text, values as unknown[]);
        },
        release: (err?: Error | boolean) => client.release(err),
      };
    },
    end: () => pool.end(),
  };
}
