import { type FreshDatabase, freshDatabase } from '@hourglass/testkit/database';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../src/db/database.js';
import { hotTransaction, prepared } from '../src/db/prepared.js';
import { claim, completeOk, createJob, orchestratorPerFile, registerRunner } from './helpers.js';

/**
 * The hot statements run as named prepared statements, and keep generic plans only inside hotTransaction
 * (db/prepared.ts); with DATABASE_PREPARED_STATEMENTS=false nothing is named (poolers in transaction mode).
 */
let database: FreshDatabase;
const handles: DatabaseHandle[] = [];
beforeAll(async () => {
  database = await freshDatabase();
});
afterAll(async () => {
  for (const h of handles) await h.destroy();
  await database.drop();
});

/** One connection, so that what a statement leaves on its session is what the next one sees. */
function oneConnection(preparedStatements: boolean) {
  const handle = createDatabase(database.url, { max: 1, preparedStatements });
  handles.push(handle);
  return handle.db;
}

const statement = (n: number) => sql<{ n: number }>`SELECT ${n}::int + 1 AS n`;

test('prepared() names the statement once per connection; hotTransaction keeps generic plans, only inside', async () => {
  const db = oneConnection(true);
  expect((await prepared(db, statement(1))).rows).toEqual([{ n: 2 }]);
  expect((await prepared(db, statement(41))).rows).toEqual([{ n: 42 }]);
  const { rows } = await sql<{ name: string; statement: string }>`
    SELECT name, statement FROM pg_prepared_statements
  `.execute(db);
  expect(rows).toHaveLength(1); // the same text, with other values: one statement
  expect(rows[0]!.name).toMatch(/^hg\d+_[0-9a-f]{20}$/);
  expect(rows[0]!.statement).toContain('+ 1 AS n');

  const mode = async (q: typeof db) =>
    (await sql<{ plan_cache_mode: string }>`SHOW plan_cache_mode`.execute(q)).rows[0]!.plan_cache_mode;
  expect(await hotTransaction(db, (trx) => mode(trx))).toBe('force_generic_plan');
  expect(await mode(db)).toBe('auto');
  const seqscan = async (q: typeof db) =>
    (await sql<{ enable_seqscan: string }>`SHOW enable_seqscan`.execute(q)).rows[0]!.enable_seqscan;
  expect(await hotTransaction(db, (trx) => seqscan(trx))).toBe('off');
  expect(await seqscan(db)).toBe('on');

  // A failure inside rolls back, and the connection is usable (and back to auto) after.
  await sql`CREATE TABLE IF NOT EXISTS prepared_probe (id int)`.execute(db);
  await expect(
    hotTransaction(db, async (trx) => {
      await sql`INSERT INTO prepared_probe VALUES (1)`.execute(trx);
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect((await sql`SELECT * FROM prepared_probe`.execute(db)).rows).toEqual([]);
  expect(await mode(db)).toBe('auto');
});

test('a table a kept statement returns whole gains a column (a rolling upgrade): it is prepared anew and runs', async () => {
  const db = oneConnection(true);
  await sql`CREATE TABLE widened (id int)`.execute(db);
  await sql`INSERT INTO widened VALUES (1)`.execute(db);
  const whole = () => prepared(db, sql<Record<string, unknown>>`SELECT * FROM widened WHERE id = ${1}`);
  expect((await whole()).rows).toEqual([{ id: 1 }]);
  await sql`ALTER TABLE widened ADD COLUMN note text DEFAULT 'new'`.execute(db);
  expect((await whole()).rows).toEqual([{ id: 1, note: 'new' }]);
});

test('DATABASE_PREPARED_STATEMENTS=false: nothing is named, and hotTransaction is a plain transaction', async () => {
  const db = oneConnection(false);
  expect((await prepared(db, statement(2))).rows).toEqual([{ n: 3 }]);
  expect((await sql`SELECT name FROM pg_prepared_statements`.execute(db)).rows).toEqual([]);
  const inside = await hotTransaction(db, (trx) =>
    sql<{ plan_cache_mode: string }>`SHOW plan_cache_mode`.execute(trx),
  );
  expect(inside.rows[0]!.plan_cache_mode).toBe('auto');
});

const off = orchestratorPerFile({ DATABASE_PREPARED_STATEMENTS: 'false' });

test('an orchestrator with DATABASE_PREPARED_STATEMENTS=false creates, claims and completes', async () => {
  const runnerId = await registerRunner(off, { types: ['echo'] });
  const job = await createJob(off, { type: 'echo', payload: { x: 1 } });
  const [e] = await claim(off, runnerId);
  expect(e?.jobId).toBe(job.id);
  const done = await completeOk(off, runnerId, e!.id, { status: 'SUCCEEDED', result: { x: 1 } });
  expect(done.status).toBe('SUCCEEDED');
});
