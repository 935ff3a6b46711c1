import pg from 'pg';
import { ApiClient } from './http.js';
import {
  BOUNDED_MB,
  BOUNDED_SHARE,
  LEAK_MB,
  LEAK_SHARE,
  mb,
  type RssSeries,
  type RssSummary,
  rssOf,
  rssSum,
  summarizeRss,
} from './memory.js';
import { type Stack, sleep } from './stack.js';
import { formatNumber, renderTable } from './stats.js';

/**
 * `pnpm bench --scenario soak` (issue 15, memory): the services at full load for `durationS` seconds, their
 * resident memory sampled all along. A backlog of BACKLOG ready noop jobs is kept topped up with POST /jobs/batch
 * (batches of 1,000), so the runners always have work and the orchestrator creates, claims and completes at once,
 * as in the throughput scenario. The RSS of the orchestrator and of each runner is read from /proc every
 * `sampleMs`; after the run, each role's level after the warm-up, its end, its maximum and the slope over the
 * second half give a verdict (memory.ts: bounded, growing, or LEAK, which fails the scenario).
 */

/** Ready jobs kept waiting: several claims' worth for both runners (2 × 500), so none ever waits for creates. */
const BACKLOG = 5_000;
const BATCH = 1_000;
/** Batch requests in flight at most while topping up. */
const PARALLEL = 4;

// The ready backlog, and what runners hold (claimed: running, or done and waiting to be reported), through the
// partial indexes of the claim and of the lease reaper.
const COUNTS_SQL = `
  SELECT (SELECT count(*) FROM executions WHERE status = 'PENDING' AND ready)::int AS waiting,
         (SELECT count(*) FROM executions WHERE status = 'RUNNING')::int AS held`;

export interface SoakOptions {
  durationS: number;
  /** Seconds at the start that the verdict ignores (start-up, JIT, the heap finding its size). */
  warmupS: number;
  sampleMs: number;
  /** Also sample PostgreSQL's processes (the embedded server's, all of which are the benchmark's). */
  postgres: boolean;
}

export interface SoakResult {
  seconds: number;
  done: number;
  failed: number;
  jobsPerSecond: number;
  /** Jobs done per second in the run's first and second halves (estimated: created − still waiting). */
  halves: [number, number];
  /** Executions RUNNING (claimed and not yet reported), after the warm-up, at the end, and at most. */
  held: { start: number; end: number; max: number };
  summaries: RssSummary[];
  /** PostgreSQL's private memory (RssAnon summed over its processes), for information; no verdict. */
  postgres?: RssSummary;
}

/** The warm-up the verdict ignores: 10% of the run, and at least 5 s (a quick run's stack is still starting). */
export const soakWarmup = (durationS: number) => Math.min(durationS / 2, Math.max(5, durationS / 10));

export async function runSoak(stack: Stack, opts: SoakOptions): Promise<SoakResult> {
  const api = new ApiClient(stack.url, PARALLEL);
  // Its own connection: the count below must use the claim index whatever the statistics say (the table grows by
  // a million rows during the run; a sequential scan of it every few milliseconds would be the benchmark's load).
  const counter = new pg.Client({ connectionString: stack.dbUrl, application_name: 'hourglass-bench-soak' });
  await counter.connect();
  await counter.query('SET enable_seqscan = off');
  const body = JSON.stringify({ jobs: Array.from({ length: BATCH }, () => ({ type: 'noop' })) });
  const pids = stack.servicePids();
  const series: RssSeries[] = [
    { role: 'orchestrator', samples: [] },
    ...pids.runners.map((_, i) => ({ role: `runner ${i + 1}`, samples: [] })),
  ];
  const pg0: RssSeries = { role: 'postgres (private memory, summed)', samples: [] };
  let postgresPids: number[] = [];
  const servicePids = new Set([...pids.orchestrator, ...pids.runners]);
  const refreshPostgresPids = async () => {
    if (!opts.postgres) return;
    postgresPids = (await stack.ownPids()).filter((p) => p !== process.pid && !servicePids.has(p));
  };
  await refreshPostgresPids();

  let created = 0;
  let waiting = 0;
  let held = 0;
  const doneAt: { t: number; done: number }[] = [];
  const heldAt: { t: number; held: number }[] = [];
  const start = performance.now();
  const end = start + opts.durationS * 1000;
  const elapsed = () => (performance.now() - start) / 1000;
  const sample = () => {
    const t = elapsed();
    const values = [rssSum(pids.orchestrator), ...pids.runners.map((p) => rssOf(p))];
    values.forEach((bytes, i) => {
      if (bytes !== undefined) series[i]!.samples.push({ t, bytes });
    });
    const p = opts.postgres ? rssSum(postgresPids, true) : undefined;
    if (p !== undefined) pg0.samples.push({ t, bytes: p });
    doneAt.push({ t, done: created - waiting });
    heldAt.push({ t, held });
  };
  const progressEvery = opts.durationS / 10;
  let nextProgress = progressEvery;
  const sampler = setInterval(() => {
    sample();
    if (elapsed() >= nextProgress) {
      nextProgress += progressEvery;
      const last = (s: RssSeries) => mb(s.samples.at(-1)?.bytes);
      console.log(
        `  ${elapsed().toFixed(0).padStart(4)} s: ≈ ${formatNumber(created - waiting)} jobs done, ` +
          `${formatNumber(held)} claimed and not yet reported; RSS ` +
          `orchestrator ${last(series[0]!)} MB, runners ${series.slice(1).map(last).join(', ')} MB` +
          (opts.postgres ? `; postgres private ${last(pg0)} MB` : ''),
      );
      void refreshPostgresPids().catch(() => {});
    }
  }, opts.sampleMs);

  try {
    sample();
    // Top up, bounded by the deadline: count the ready backlog, send what is missing (a batch per 1,000, at most
    // PARALLEL at once), and look again; with nothing missing, rest a little.
    while (performance.now() < end) {
      stack.assertAlive();
      const { rows } = await counter.query<{ waiting: number; held: number }>(COUNTS_SQL);
      waiting = rows[0]!.waiting;
      held = rows[0]!.held;
      const batches = Math.min(PARALLEL, Math.floor((BACKLOG - waiting) / BATCH));
      if (batches <= 0) {
        await sleep(10);
        continue;
      }
      await Promise.all(
        Array.from({ length: batches }, async () => {
          await api.post('/jobs/batch', body);
          created += BATCH;
        }),
      );
    }
    sample();
  } finally {
    clearInterval(sampler);
    await api.close();
    await counter.end().catch(() => {});
  }
  const seconds = elapsed();

  const { rows } = await stack.db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM executions GROUP BY status',
  );
  const count = (...statuses: string[]) =>
    rows.filter((r) => statuses.includes(r.status)).reduce((a, r) => a + r.n, 0);
  const done = count('SUCCEEDED');
  const failed = count('FAILED', 'TIMED_OUT', 'CANCELLED');
  const at = (t: number) => doneAt.reduce((best, d) => (Math.abs(d.t - t) < Math.abs(best.t - t) ? d : best));
  const mid = at(seconds / 2);
  const first = doneAt[0]!;
  const last = doneAt.at(-1)!;
  return {
    seconds,
    done,
    failed,
    jobsPerSecond: done / seconds,
    halves: [(mid.done - first.done) / (mid.t - first.t), (last.done - mid.done) / (last.t - mid.t)],
    held: {
      start: (heldAt.find((h) => h.t >= opts.warmupS) ?? heldAt.at(-1)!).held,
      end: heldAt.at(-1)!.held,
      max: Math.max(...heldAt.map((h) => h.held)),
    },
    summaries: series.map((s) => summarizeRss(s, opts.warmupS, seconds)),
    postgres: opts.postgres ? summarizeRss(pg0, opts.warmupS, seconds) : undefined,
  };
}

/** The scenario's report: throughput, the RSS table, the rule; throws when a service leaks (LEAK). */
export function printSoak(r: SoakResult, opts: SoakOptions, cpuNote: string): void {
  console.log(
    `\njobs done: ${formatNumber(r.done)} in ${r.seconds.toFixed(0)} s, ${formatNumber(r.jobsPerSecond)} jobs/s ` +
      `(≈ ${formatNumber(r.halves[0])} in the first half, ≈ ${formatNumber(r.halves[1])} in the second); ` +
      `${formatNumber(r.failed)} failed; ${cpuNote}`,
  );
  console.log(
    `claimed and not yet reported (RUNNING): ${formatNumber(r.held.start)} after the warm-up, ` +
      `${formatNumber(r.held.end)} at the end, ${formatNumber(r.held.max)} at most\n`,
  );
  const rows: string[][] = [
    [
      'RSS (MB)',
      `after warm-up (${opts.warmupS.toFixed(0)} s)`,
      'end',
      'max',
      'slope, 2nd half (MB/min)',
      'growth, 2nd half',
      'verdict',
    ],
  ];
  const row = (s: RssSummary, verdict: string) =>
    rows.push([
      s.role,
      mb(s.start),
      mb(s.end),
      mb(s.max),
      (s.slopePerMinute / 2 ** 20).toFixed(1),
      mb(s.secondHalfGrowth, 1),
      verdict,
    ]);
  for (const s of r.summaries) row(s, s.verdict);
  if (r.postgres) row(r.postgres, `(${r.postgres.verdict}; for information)`);
  console.log(renderTable(rows));
  console.log(
    `\nRSS: VmRSS of each Node.js process from /proc, sampled every ${opts.sampleMs / 1000} s; postgres: RssAnon ` +
      "summed over the embedded server's processes (without the shared buffers they all map). Growth, 2nd half: " +
      "the slope of a least-squares line through the samples of the run's second half × its length. " +
      `bounded: that growth < max(${BOUNDED_MB} MB, ${BOUNDED_SHARE * 100}% of the level after the warm-up); ` +
      `LEAK (the scenario fails): > ${LEAK_MB} MB and > ${LEAK_SHARE * 100}% of that level; growing: between the ` +
      'two (worth a longer run and a heap snapshot, not a failure: a short or busy run can read so). Jobs per ' +
      'half are estimated (created − still waiting, so what the runners hold counts as done).',
  );
  const leaks = r.summaries.filter((s) => s.verdict === 'LEAK');
  if (leaks.length > 0) {
    throw new Error(`soak: RSS of ${leaks.map((s) => s.role).join(', ')} grew without bound (LEAK)`);
  }
}
