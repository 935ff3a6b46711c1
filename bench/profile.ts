import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { cpuSecondsOf } from './cpu.js';
import { breakdown, CATEGORIES, readProfiles, sumBreakdowns } from './cpu-profile.js';
import type { Stack } from './stack.js';
import { formatNumber, renderTable } from './stats.js';
import { QUEUE_RUNS, runThroughput, throughputRun } from './throughput.js';

/**
 * `pnpm bench --scenario profile` (issue 15: profile first): one throughput run with `node --cpu-prof` on the
 * orchestrator and the runners, after a warm-up run (start-up, module compilation and the JIT's first passes are
 * not what a job costs). Prints CPU per job by process (from /proc: orchestrator, runners, PostgreSQL, the
 * benchmark itself) and, for the two Node.js services, where their time went by category (self time of the
 * sampled functions, between the run's first request and its last job). Profiling slows the services a little:
 * read the shares, not the throughput.
 */

export type StackRunner = <T>(
  fn: (stack: Stack) => Promise<T>,
  env: { nodeArgs: string[]; seed: (db: pg.Pool) => Promise<void> },
) => Promise<T>;

/** The embedded server the profile runs on loads pg_stat_statements (statement times inside PostgreSQL). */
export const PROFILE_SERVER_SETTINGS = { shared_preload_libraries: 'pg_stat_statements' };

interface StatementRow {
  calls: number;
  total_ms: number;
  rows: number;
  query: string;
}

/** The statements that took the most time inside PostgreSQL since the last reset, or why there are none. */
async function topStatements(db: pg.Pool, limit: number): Promise<StatementRow[] | string> {
  try {
    const { rows } = await db.query<StatementRow>(
      `SELECT calls::float8 AS calls, total_exec_time AS total_ms, rows::float8 AS rows, query
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND query NOT LIKE '%pg_stat_statements%'
       ORDER BY total_exec_time DESC LIMIT $1`,
      [limit],
    );
    return rows;
  } catch (err) {
    return `pg_stat_statements unavailable (${(err as Error).message}); the embedded server loads it`;
  }
}

const hrMicros = () => Number(process.hrtime.bigint() / 1000n);

export async function runProfileScenario(
  withStack: StackRunner,
  jobs: number,
  timeoutMs: number,
  queue?: keyof typeof QUEUE_RUNS,
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hourglass-bench-profile-'));
  // As arguments: NODE_OPTIONS does not take --cpu-prof.
  const profiling = {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    seed: async (db: pg.Pool) => {
      await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    },
  };
  try {
    const run = await withStack(async (stack) => {
      await runThroughput(stack, throughputRun(Math.min(jobs, 2_000), timeoutMs));
      const { rows } = await stack.db.query<{ since: number }>(
        'SELECT coalesce(max(id), 0)::float8 AS since FROM executions',
      );
      const services = stack.servicePids();
      const postgresPids = async () =>
        (await stack.ownPids()).filter(
          (p) => p !== process.pid && !services.orchestrator.includes(p) && !services.runners.includes(p),
        );
      const pgBefore = await postgresPids();
      const before = {
        orchestrator: cpuSecondsOf(services.orchestrator),
        runners: cpuSecondsOf(services.runners),
        postgres: cpuSecondsOf(pgBefore),
        benchmark: cpuSecondsOf([process.pid]),
      };
      await stack.db.query('SELECT pg_stat_statements_reset()').catch(() => {});
      const from = hrMicros();
      const result = await runThroughput(
        stack,
        throughputRun(jobs, timeoutMs, rows[0]!.since, queue ? QUEUE_RUNS[queue].run : undefined),
      );
      const to = hrMicros();
      // A backend that connected during the run counts from zero.
      const pgAfter = [...new Set([...pgBefore, ...(await postgresPids())])];
      const byProcess = {
        orchestrator: cpuSecondsOf(services.orchestrator) - before.orchestrator,
        runners: cpuSecondsOf(services.runners) - before.runners,
        postgres: cpuSecondsOf(pgAfter) - before.postgres,
        benchmark: cpuSecondsOf([process.pid]) - before.benchmark,
      };
      const statements = await topStatements(stack.db, 12);
      return { result, byProcess, from, to, services, statements };
    }, profiling);

    const perJob = (seconds: number) => (seconds * 1e6) / jobs;
    const { result, byProcess: cpu, from, to, services, statements } = run;
    console.log(
      `profiled run: ${formatNumber(jobs)} noop jobs${queue ? ` (${QUEUE_RUNS[queue].label})` : ''} in ${result.seconds.toFixed(2)} s ` +
        `(${formatNumber(result.jobsPerSecond)} jobs/s with the profiler on); wall ${perJob(result.seconds).toFixed(0)} µs a job\n`,
    );
    const total = cpu.orchestrator + cpu.runners + cpu.postgres + cpu.benchmark;
    console.log(
      renderTable([
        ['CPU per job, by process (/proc)', 'µs / job', 'share'],
        ...Object.entries(cpu).map(([k, s]) => [
          k,
          perJob(s).toFixed(1),
          `${((s / total) * 100).toFixed(0)} %`,
        ]),
        ['all', perJob(total).toFixed(1), ''],
      ]),
    );

    if (typeof statements === 'string') console.log(`\n${statements}`);
    else {
      console.log(
        `\n${renderTable([
          [
            'statements by time inside PostgreSQL (pg_stat_statements)',
            'µs / job',
            'calls / 1k jobs',
            'rows / call',
          ],
          ...statements.map((r) => [
            r.query.replace(/\s+/g, ' ').slice(0, 90),
            ((r.total_ms * 1000) / jobs).toFixed(1),
            ((r.calls * 1000) / jobs).toFixed(1),
            (r.rows / Math.max(r.calls, 1)).toFixed(1),
          ]),
        ])}`,
      );
    }

    const profiles = readProfiles(dir);
    const of = (pids: number[]) =>
      sumBreakdowns(pids.flatMap((p) => (profiles.has(p) ? [breakdown(profiles.get(p)!, from, to)] : [])));
    const orchestrator = of(services.orchestrator);
    const runners = of(services.runners);
    if (orchestrator.size === 0 || runners.size === 0) {
      throw new Error(
        `no profile was written for ${orchestrator.size === 0 ? 'the orchestrator' : 'the runners'}`,
      );
    }
    const rows: string[][] = [
      ['where the Node.js time went (self time)', 'orchestrator µs/job', 'runners µs/job'],
    ];
    for (const c of CATEGORIES) {
      const o = orchestrator.get(c) ?? 0;
      const r = runners.get(c) ?? 0;
      if (o + r > 0) rows.push([c, (o / jobs).toFixed(1), (r / jobs).toFixed(1)]);
    }
    const busy = (m: Map<string, number>) =>
      [...m].filter(([c]) => !c.startsWith('idle')).reduce((a, [, us]) => a + us, 0) / jobs;
    rows.push(['busy (all but idle)', busy(orchestrator).toFixed(1), busy(runners).toFixed(1)]);
    console.log(`\n${renderTable(rows)}`);
    console.log(
      '\nBusy time is the main thread only; /proc also counts the threads beside it (garbage collection helpers, ' +
        'libuv), so it reads higher.',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
