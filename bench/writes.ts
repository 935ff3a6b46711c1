import { randomUUID } from 'node:crypto';
import { createDatabase, JobLifecycle, migrate, oneShotJob, sequenceEvents } from '@hourglass/orchestrator';
import pg from 'pg';
import type { BenchPostgres } from './stack.js';
import { renderTable } from './stats.js';

/**
 * `--scenario writes` (issue 15): what PostgreSQL writes for a job, by step, with nothing else running. On a fresh
 * database, `rounds` times: create 1,000 jobs (the batch insert), claim them in claims of 200, report each claim's
 * outcomes (the batched report), number their events (a sequencer round). Each step's WAL (pg_current_wal_lsn before
 * and after) and time are summed. WAL bytes do not depend on the machine's load, so two builds compare exactly;
 * times do, and are printed for orientation only. Run against a server nothing else writes to (the embedded one by
 * default): the WAL position is the server's, not the database's.
 */
export async function runWritesScenario(server: BenchPostgres, rounds: number): Promise<void> {
  const name = `hourglass_bench_writes_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(server.adminUrl);
  url.pathname = `/${name}`;
  const handle = createDatabase(url.toString(), { max: 2, applicationName: 'hourglass-bench-writes' });
  try {
    await migrate(url.toString());
    const lifecycle = new JobLifecycle(handle.db);
    const runnerId = randomUUID();
    await handle.pool.query(
      `INSERT INTO runners (id, name, host, types, capacity) VALUES ($1, 'bench', 'bench', '{noop}', 1000)`,
      [runnerId],
    );
    const lsn = async () => (await admin.query<{ l: string }>('SELECT pg_current_wal_lsn() AS l')).rows[0]!.l;
    const walSince = async (from: string) =>
      Number(
        (await admin.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [from]))
          .rows[0]!.d,
      );
    const steps = ['create', 'claim', 'report', 'number events'] as const;
    const wal = Object.fromEntries(steps.map((s) => [s, 0])) as Record<(typeof steps)[number], number>;
    const ms = { ...wal };
    const measure = async <T>(step: (typeof steps)[number], fn: () => Promise<T>): Promise<T> => {
      const from = await lsn();
      const started = performance.now();
      const out = await fn();
      ms[step] += performance.now() - started;
      wal[step] += await walSince(from);
      return out;
    };
    // A checkpoint first, so every run starts with the same full-page images to write.
    await admin.query('CHECKPOINT');
    for (let round = 0; round < rounds; round++) {
      await measure('create', () =>
        lifecycle.create(Array.from({ length: 1_000 }, (_, i) => oneShotJob('noop', { payload: { i } }))),
      );
      for (let c = 0; c < 5; c++) {
        const claimed = await measure('claim', () =>
          lifecycle.claim({
            runnerId,
            types: ['noop'],
            queues: null,
            max: 200,
            leaseMs: 60_000,
            maxBytes: 4 * 1024 * 1024,
          }),
        );
        await measure('report', () =>
          lifecycle.complete(
            runnerId,
            claimed.map((e) => ({
              id: e.id,
              status: 'SUCCEEDED' as const,
              error: null,
              result: null,
              started_at: new Date().toISOString(),
              retryable: null,
              error_code: null,
            })),
          ),
        );
      }
      await measure('number events', () => sequenceEvents(handle.db, 100_000));
    }
    const jobs = rounds * 1_000;
    const { rows } = await handle.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM executions WHERE status = 'SUCCEEDED'`,
    );
    if (rows[0]!.n !== jobs) throw new Error(`writes: ${rows[0]!.n} of ${jobs} jobs succeeded`);
    const total = steps.reduce((n, s) => n + wal[s], 0);
    console.log(
      `writes: ${jobs.toLocaleString('en-US')} noop jobs created (batches of 1,000), claimed (200 a claim), reported ` +
        `and their events numbered, one step at a time (PostgreSQL ${server.version}, ${server.durability})\n`,
    );
    console.log(
      renderTable([
        ['step', 'WAL bytes / job', 'ms / 1,000 jobs (load-dependent)'],
        ...steps.map((s) => [
          s,
          Math.round(wal[s] / jobs).toLocaleString('en-US'),
          (ms[s] / rounds).toFixed(0),
        ]),
        [
          'all',
          Math.round(total / jobs).toLocaleString('en-US'),
          (steps.reduce((n, s) => n + ms[s], 0) / rounds).toFixed(0),
        ],
      ]),
    );
  } finally {
    await handle.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => {});
    await admin.end();
  }
}
