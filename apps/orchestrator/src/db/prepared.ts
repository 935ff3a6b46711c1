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
 *   than the generic one. The setting is local to these transactions because it applies to every statement with
 *   parameters, named or not, and the rest of the orchestrator's queries keep plans made for their values.
 *   The generic plans of the claim and the report are the same index walks and primary-key lookups as their
 *   custom plans (apps/orchestrator/test/hot-path-plans.test.ts checks them, made on empty tables, run on a
 *   backlog; PostgreSQL makes them again after an ANALYZE of a table they read).
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

/** Runs `statement` (on `db`, which may be a transaction) as a named prepared statement. */
export async function prepared<R>(db: Db, statement: RawBuilder<R>): Promise<{ rows: R[] }> {
  const compiled = statement.compile(db);
  if (!names.has(compiled.sql)) {
    names.set(compiled.sql, `hg_${createHash('sha1').update(compiled.sql).digest('hex').slice(0, 20)}`);
  }
  return db.executeQuery(compiled as CompiledQuery<R>);
}

const BEGIN_KEEPING_PLANS = sql.raw('BEGIN; SET LOCAL plan_cache_mode = force_generic_plan');

/** Runs `fn` in a transaction whose named statements keep one generic plan per connection (see above). */
export async function hotTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (!naming.has(db)) return db.transaction().execute(fn);
  return db.connection().execute(async (conn) => {
    await BEGIN_KEEPING_PLANS.execute(conn);
    let result: T;
    try {
      result = await fn(conn);
    } catch (err) {
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
