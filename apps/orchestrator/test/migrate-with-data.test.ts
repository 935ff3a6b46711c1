import { randomBytes } from 'node:crypto';
import { createDatabase as createEmptyDatabase, dropDatabase, withDatabase } from '@hourglass/local-postgres';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { DEFAULT_RETENTION } from '../src/config.js';
import { createDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle.js';
import { recordEvents } from '../src/queue/record-events.js';
import { sequenceEvents } from '../src/queue/sequence-events.js';

/**
 * Retention's migrations (0010, 0011) on a database that already holds work written under the schema before them:
 * every row is kept, old jobs get the defaults (their status's retention), and the cleaner then treats them like
 * new ones.
 */

const adminUrl = inject('pgAdminUrl');
const name = `hourglass_migrate_${randomBytes(5).toString('hex')}`;
const url = withDatabase(adminUrl, name);
let handle: DatabaseHandle | undefined;

beforeAll(async () => {
  await createEmptyDatabase(adminUrl, name);
});
afterAll(async () => {
  await handle?.destroy();
  await dropDatabase(adminUrl, name);
});

test('jobs, executions and dead letters written before retention existed survive its migrations and age out by it', async () => {
  const before = await migrate(url, '0009_skipped_ranges');
  expect(before.at(-1)).toBe('0009_skipped_ranges');
  handle = createDatabase(url, { max: 2 });
  const db = handle.db;
  // Work as the previous schema stored it: an old success, an old failure still in the dead-letter queue, a
  // waiting job.
  const { rows } = await sql<{ id: number; type: string }>`
    INSERT INTO jobs (type, payload, status, run_at, finished_at, kind)
    VALUES ('old-ok', '{}', 'SUCCEEDED', now() - interval '10 days', now() - interval '10 days', 'once'),
           ('old-failed', '{}', 'FAILED', now() - interval '40 days', now() - interval '40 days', 'once'),
           ('waiting', '{}', 'SCHEDULED', now() + interval '1 day', NULL, 'once')
    RETURNING id, type
  `.execute(db);
  const id = Object.fromEntries(rows.map((r) => [r.type, r.id]));
  await sql`
    INSERT INTO executions (job_id, job_type, priority, attempt, status, ready, scheduled_for, finished_at, one_shot)
    VALUES (${id['old-ok']}, 'old-ok', 0, 1, 'SUCCEEDED', true, now() - interval '10 days', now() - interval '10 days', true),
           (${id['old-failed']}, 'old-failed', 0, 3, 'FAILED', true, now() - interval '40 days', now() - interval '40 days', true),
           (${id.waiting}, 'waiting', 0, 1, 'PENDING', false, now() + interval '1 day', NULL, true)
  `.execute(db);
  await sql`
    INSERT INTO dead_letters (job_id, execution_id, job_type, attempts, error)
    SELECT job_id, id, job_type, 3, 'boom' FROM executions WHERE job_type = 'old-failed'
  `.execute(db);

  const applied = await migrate(url);
  expect(applied).toEqual(expect.arrayContaining(['0010_retention', '0011_dead_letters_by_job']));
  const kept = await sql<{ type: string; retention_seconds: number | null; keep_forever: boolean }>`
    SELECT type, retention_seconds, keep_forever FROM jobs ORDER BY id
  `.execute(db);
  expect(kept.rows).toEqual([
    { type: 'old-ok', retention_seconds: null, keep_forever: false },
    { type: 'old-failed', retention_seconds: null, keep_forever: false },
    { type: 'waiting', retention_seconds: null, keep_forever: false },
  ]);

  const deleted = await new JobLifecycle(db).cleanExpired('jobs', DEFAULT_RETENTION, 100);
  expect(deleted).toBe(1);
  const left = await sql<{ type: string }>`SELECT type FROM jobs ORDER BY id`.execute(db);
  expect(left.rows.map((r) => r.type)).toEqual(['old-failed', 'waiting']); // the dead letter keeps its job
  const executions = await sql<{ n: number }>`SELECT count(*)::int AS n FROM executions`.execute(db);
  expect(executions.rows[0]!.n).toBe(2);
});

test('events written to the outbox before it held one row per statement are numbered after the migration, in order (0015)', async () => {
  const name2 = `hourglass_migrate_${randomBytes(5).toString('hex')}`;
  const url2 = withDatabase(adminUrl, name2);
  await createEmptyDatabase(adminUrl, name2);
  const h = createDatabase(url2, { max: 2 });
  try {
    await migrate(url2, '0013_queues');
    await sql`
      INSERT INTO event_outbox (kind, job_id, data)
      VALUES ('job.created', 7, '{"n": 1}'), ('job.cancelled', 7, '{"n": 2}'), ('runner.online', NULL, '{"n": 3}')
    `.execute(h.db);
    expect(await migrate(url2)).toContain('0015_outbox_batches');
    const { moved } = await sequenceEvents(h.db, 100);
    expect(moved).toBe(3);
    const { rows } = await sql<{ id: number; kind: string; job_id: number | null; n: number }>`
      SELECT id, kind, job_id, (data->>'n')::int AS n FROM events ORDER BY id
    `.execute(h.db);
    expect(rows).toEqual([
      { id: 1, kind: 'job.created', job_id: 7, n: 1 },
      { id: 2, kind: 'job.cancelled', job_id: 7, n: 2 },
      { id: 3, kind: 'runner.online', job_id: null, n: 3 },
    ]);

    // New writes: one row per statement; a round takes whole rows while fewer than `batch` events came before.
    await recordEvents(
      h.db,
      [1, 2, 3].map((n) => ({ kind: 'job.created', jobId: 8, data: { n } })),
    );
    await recordEvents(h.db, [{ kind: 'job.cancelled', jobId: 8, data: { n: 4 } }]);
    const rowsHeld = await sql<{ n: number }>`SELECT n FROM event_outbox ORDER BY seq`.execute(h.db);
    expect(rowsHeld.rows).toEqual([{ n: 3 }, { n: 1 }]);
    expect((await sequenceEvents(h.db, 2)).moved).toBe(3);
    expect((await sequenceEvents(h.db, 2)).moved).toBe(1);
    const later = await sql<{ id: number; n: number }>`
      SELECT id, (data->>'n')::int AS n FROM events WHERE job_id = 8 ORDER BY id
    `.execute(h.db);
    expect(later.rows).toEqual([4, 5, 6, 7].map((id, i) => ({ id, n: i + 1 })));
  } finally {
    await h.destroy();
    await dropDatabase(adminUrl, name2);
  }
});
