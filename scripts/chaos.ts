/**
 * `pnpm chaos`: the whole system under faults, against real processes on 127.0.0.1. Two orchestrators and four
 * runners work through a mixed load of jobs (succeed, fail then succeed, always fail, slow) and webhook timers to
 * a local receiver while a runner is killed with -9 every 2 s (and restarted), an orchestrator every 10 s (and
 * restarted), and PostgreSQL is stopped and started once. Then it prints and checks, from the database and the
 * receiver, that nothing was lost, nothing succeeded twice, no one-shot job had two open executions, every timer
 * was delivered under one idempotency key, nothing stayed RUNNING past its lease, how fast work resumed after each
 * fault, and that clients saw no 5xx outside the database outage. Exits 1 on any violation.
 *
 *   pnpm chaos [--quick] [--jobs N] [--timers N] [--seconds S] [--log FILE]
 *
 * --quick (CI): 1,000 jobs and 100 timers over 45 s. The full run: 10,000 jobs and 1,000 timers over 90 s.
 * PostgreSQL: an embedded server in a temporary directory (stopped and started mid-run), or DATABASE_URL's server
 * (a fresh database there, dropped afterwards; the run never stops that server, so the outage is skipped).
 * --log FILE: every line the processes printed, what the run did, and the recovery from each fault, for a diagnosis.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Cluster } from '@hourglass/testkit/cluster';
import { WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import pg from 'pg';
import { ChaosApi } from './lib/chaos/api.js';
import { type Figure, judge, type RunnerServerError } from './lib/chaos/checks.js';
import { type ChaosDatabase, openChaosDatabase } from './lib/chaos/database.js';
import { FaultInjector } from './lib/chaos/faults.js';
import { Sampler } from './lib/chaos/sampler.js';
import {
  type CreatedJob,
  type CreatedTimer,
  createJobs,
  createTimers,
  JOB_KINDS,
} from './lib/chaos/workload.js';

/**
 * Short leases and intervals, so that the work of a killed runner comes back in about 2 s rather than 30 s. A
 * runner silent for 3 heartbeats (1.5 s) is marked OFFLINE, which an orchestrator's death, the outage or a loaded
 * machine can do to a live one (issue 10, defect 14).
 */
const LEASE_MS = 2_000;
const HEARTBEAT_INTERVAL_MS = 500;
const REAPER_INTERVAL_MS = 250;
/**
 * RUNNING this long past its lease is stuck: the reaper interval, plus 10 s for the reaper's own lateness on a
 * loaded machine (normally under 0.5 s; 4 s seen with three CI runs beside this one). One the reaper never gets
 * to stays RUNNING, and is caught by a sample as well as by the end state.
 */
const STUCK_AFTER_MS = REAPER_INTERVAL_MS + 10_000;
/** Normal recovery takes 1–3 s; a stall until long-polls end (30 s, defect 14) must fail the run. */
const RECOVERY_LIMIT_MS = 15_000;
const OUTAGE_GRACE_MS = 2_000;
const FAULT_TAIL_MS = 8_000;
const RUNNERS = 4;
const RUNNER_CONCURRENCY = 25;
const ORCHESTRATOR_ENV = {
  LEASE_MS: String(LEASE_MS),
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
  REAPER_INTERVAL_MS: String(REAPER_INTERVAL_MS),
  DB_POOL_SIZE: '10',
  LOG_LEVEL: 'info',
  WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false', // the receiver is on 127.0.0.1
};
const RUNNER_ENV = {
  RUNNER_CONCURRENCY: String(RUNNER_CONCURRENCY),
  POLL_WAIT_SECONDS: '30', // the default: a claim stalled until its long-poll ends shows as 30 s
  SHUTDOWN_GRACE_MS: '5000',
  LOG_LEVEL: 'info',
  WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false',
};

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      timers: { type: 'string' },
      seconds: { type: 'string' },
      log: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: 'jobs' | 'timers' | 'seconds', fallback: number, min: number, max: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer in ${min}…${max}`);
    return n;
  };
  const quick = values.quick === true;
  const loadMs = int('seconds', quick ? 45 : 90, 20, 600) * 1000;
  return {
    quick,
    log: values.log,
    jobs: int('jobs', quick ? 1_000 : 10_000, 1, 100_000),
    timers: int('timers', quick ? 100 : 1_000, 1, 10_000),
    loadMs,
    /** Timers are created over the first quarter of the load and fire before its end. */
    timerSpreadMs: Math.round(loadMs / 4),
    timerMaxDelaySeconds: Math.max(5, Math.floor((loadMs * 0.6) / 1000)),
    /** PostgreSQL goes down around the middle, between two orchestrator kills (at whole tens of seconds). */
    outageAtMs: Math.round(loadMs * 0.5) + 2_000,
    outageMs: quick ? 3_000 : 5_000,
    drainMs: quick ? 60_000 : 120_000,
  };
}

const started = Date.now();
let logFile: WriteStream | undefined;
const say = (line: string) => {
  const text = `[chaos ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`;
  console.log(text);
  logFile?.write(`${text}\n`);
};

async function main(): Promise<number> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options();
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (opts.log) logFile = createWriteStream(opts.log);
  const runId = started.toString(36);
  const runnerErrors: RunnerServerError[] = [];
  const indexRefusals: string[] = [];
  const errorLines: { at: number; text: string }[] = [];
  const onLine = (name: string, line: string) => {
    logFile?.write(`[${name}] ${line}\n`);
    if (!line.startsWith('{')) return;
    let rec: { level?: number; time?: number; err?: unknown };
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    if ((rec.level ?? 0) >= 50) errorLines.push({ at: rec.time ?? Date.now(), text: `[${name}] ${line}` });
    if (name.startsWith('orchestrator') && line.includes('executions_one_open_per_once_job'))
      indexRefusals.push(line);
    // A runner's failed claim, heartbeat or report names the answer: "POST /runners/…/next-job…: 503 …".
    const status = typeof rec.err === 'string' ? /: (5\d\d)\b/.exec(rec.err)?.[1] : undefined;
    if (name.startsWith('chaos-runner') && status) {
      runnerErrors.push({ at: rec.time ?? Date.now(), runner: name, status: Number(status) });
    }
  };

  let db: ChaosDatabase | undefined;
  const cluster = new Cluster({ onLine, maxLogLines: 2_000 });
  let receiver: WebhookReceiver | undefined;
  // Last resort, whatever way the run ends: no process or server it started outlives it.
  process.on('exit', () => {
    for (const p of cluster.processes) p.child.kill('SIGKILL');
    db?.abandon();
  });
  const interrupted = new Promise<number>((resolve) => {
    process.once('SIGINT', () => {
      say('interrupted: stopping everything');
      resolve(130);
    });
  });

  const run = async (): Promise<number> => {
    say(
      `${opts.jobs} jobs and ${opts.timers} timers over ${opts.loadMs / 1000} s; 2 orchestrators, ${RUNNERS} runners ` +
        `(concurrency ${RUNNER_CONCURRENCY}); lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_INTERVAL_MS} ms, reaper ${REAPER_INTERVAL_MS} ms`,
    );
    receiver = await WebhookReceiver.start();
    receiver.on('/flaky', { kind: 'fail-then-ok', times: 1 });
    // PostgreSQL's own log (deadlocks name both statements) goes to --log only.
    db = await openChaosDatabase((line) => logFile?.write(`[postgres] ${line}\n`));
    say(
      db.source === 'embedded'
        ? 'PostgreSQL: embedded, in a temporary directory (it will be stopped and started once)'
        : 'PostgreSQL: DATABASE_URL (a fresh database); the PostgreSQL stop and start is SKIPPED: that server is not the run’s to stop',
    );
    await cluster.start(ORCHESTRATOR_ENV, {
      orchestrators: 2,
      database: { url: db.url, drop: async () => {} },
    });
    const urls = (first: number) =>
      [cluster.orchestrators[first]!.url, cluster.orchestrators[1 - first]!.url].join(',');
    await Promise.all(
      Array.from({ length: RUNNERS }, (_, i) =>
        cluster.startRunner(`chaos-runner-${i + 1}`, { ...RUNNER_ENV, ORCHESTRATOR_URL: urls(i % 2) }),
      ),
    );
    say('cluster up: faults start now');

    const api = new ChaosApi(() => cluster.orchestrators.map((o) => o.url));
    const sampler = new Sampler(db.url, STUCK_AFTER_MS);
    const faults = new FaultInjector(
      cluster,
      db,
      {
        runnerEveryMs: 2_000,
        orchestratorEveryMs: 10_000,
        outageAtMs: db.source === 'embedded' ? opts.outageAtMs : undefined,
        outageMs: opts.outageMs,
      },
      say,
    );
    const t0 = Date.now();
    const loadEnd = t0 + opts.loadMs;
    const deadline = loadEnd + opts.drainMs;
    sampler.start();
    faults.start();
    // The faults end a little before the work does, so that recovery from the last of them can be seen.
    let faultsStopped: Promise<void> | undefined;
    const faultsEnd = setTimeout(() => {
      faultsStopped = faults.stop();
    }, opts.loadMs - FAULT_TAIL_MS);

    const jobs = new Map<number, CreatedJob>();
    const timers = new Map<number, CreatedTimer>();
    const pool = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => {});
    const finishedCount = async () => {
      const ids = [...jobs.values(), ...timers.values()].map((j) => j.id);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::bigint[]) AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')`,
        [ids],
      );
      return rows[0]!.n;
    };

    // A reader, as dashboards and clients poll: every second, on each replica.
    let loading = true;
    const reader = (async () => {
      while (loading) {
        for (const o of cluster.orchestrators) {
          for (const path of ['/runners', '/jobs?limit=20', '/executions/active', '/dead-letters?limit=20']) {
            await api.once(o.url, 'GET', path);
          }
        }
        await sleep(1_000);
      }
    })();
    const ticker = setInterval(() => {
      void finishedCount().then(
        (finished) => {
          const s = sampler.samples.at(-1);
          say(
            `created ${jobs.size}/${opts.jobs} jobs, ${timers.size}/${opts.timers} timers; finished ${finished}; ` +
              `due ${s?.due ?? '?'} (ready ${s?.dueReady ?? '?'}), running ${s?.running ?? '?'}, ` +
              `waiting on locks ${s?.lockWaits ?? '?'}; deliveries ${receiver!.deliveries.length}; ` +
              `kills ${faults.events.filter((e) => e.kind !== 'postgres').length}`,
          );
        },
        () => say('(database not answering)'),
      );
    }, 10_000);

    try {
      await Promise.all([
        createJobs(api, runId, opts.jobs, opts.loadMs, jobs, deadline),
        createTimers(
          api,
          runId,
          receiver.url,
          opts.timers,
          opts.timerSpreadMs,
          opts.timerMaxDelaySeconds,
          timers,
          deadline,
        ),
      ]);
      if (Date.now() < loadEnd) await sleep(loadEnd - Date.now());
    } finally {
      loading = false;
      clearTimeout(faultsEnd);
      clearInterval(ticker);
      await (faultsStopped ?? faults.stop());
    }
    say('load done; waiting for every job to finish and every timer to be delivered');
    const total = jobs.size + timers.size;
    const delivered = () => {
      const ids = new Set(
        receiver!.deliveries
          .filter((d) => d.status !== undefined && d.status < 300)
          .map((d) => (d.body as { timerId?: number } | undefined)?.timerId),
      );
      return [...timers.values()].filter((t) => ids.has(t.id)).length;
    };
    for (;;) {
      const finished = await finishedCount().catch(() => -1);
      if (finished === total && delivered() === timers.size) break;
      if (Date.now() > deadline) {
        say(
          `gave up waiting: ${finished} of ${total} finished, ${delivered()} of ${timers.size} timers delivered`,
        );
        break;
      }
      await sleep(1_000);
    }
    await reader;
    await sampler.stop();
    await pool.end();
    const outage = faults.outageWindow;
    say('judging');

    const { figures, recoveries } = await judge({
      dbUrl: db.url,
      jobs: [...jobs.values()],
      timers: [...timers.values()],
      deliveries: receiver.deliveries,
      samples: sampler.samples,
      sampleFailures: sampler.failed,
      events: faults.events,
      lives: faults.lives,
      outage,
      clientErrors: api.serverErrors,
      runnerErrors,
      indexRefusals,
      stuckAfterMs: STUCK_AFTER_MS,
      recoveryLimitMs: RECOVERY_LIMIT_MS,
      outageGraceMs: OUTAGE_GRACE_MS,
    });

    // Errors logged while PostgreSQL was down are expected; the others are worth a look (printed below).
    const outsideOutage = errorLines.filter(
      (l) => !outage || l.at < outage.from || l.at > outage.to + OUTAGE_GRACE_MS,
    );
    const kinds = JOB_KINDS.map((k) => `${[...jobs.values()].filter((j) => j.kind === k).length} ${k}`).join(
      ', ',
    );
    const info: Figure[] = [
      { label: 'jobs created', value: `${jobs.size} (${kinds})` },
      { label: 'timers created', value: String(timers.size) },
      {
        label: 'faults',
        value:
          `${faults.events.filter((e) => e.kind === 'runner').length} runner kills, ` +
          `${faults.events.filter((e) => e.kind === 'orchestrator').length} orchestrator kills, ` +
          (outage
            ? `PostgreSQL down ${((faults.events.find((e) => e.kind === 'postgres')?.startedAt ?? outage.to) - outage.from) / 1000} s (orchestrators ready again ${((outage.to - outage.from) / 1000).toFixed(1)} s after the stop)`
            : 'no PostgreSQL restart (DATABASE_URL)'),
      },
      {
        label: 'requests of the API client',
        value: `${api.requests} (${api.connectionErrors} could not connect: a killed replica)`,
      },
      {
        label: 'database samples',
        value: `${sampler.samples.length} (${sampler.failed} failed: the outage)`,
      },
      {
        label: 'error lines the processes logged (outside the outage)',
        value: `${errorLines.length} (${outsideOutage.length})`,
      },
    ];
    printTable([...info, ...figures]);
    for (const r of recoveries) {
      const at = ((r.event.at - t0) / 1000).toFixed(1);
      const who = 'name' in r.event ? ` ${r.event.name}` : '';
      logFile?.write(
        `recovery: ${r.event.kind}${who} at ${at} s: ${(r.ms / 1000).toFixed(1)} s (${r.slowest})\n`,
      );
    }
    const violations = figures.filter((f) => f.ok === false);
    if (outsideOutage.length > 0) {
      const last = outsideOutage.slice(-5).map((l) => l.text.slice(0, 400));
      console.log(`\nlast error lines outside the outage:\n${last.join('\n')}`);
    }
    say(`run took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (violations.length > 0) {
      console.log(`\nFAIL: ${violations.length} violation(s): ${violations.map((v) => v.label).join('; ')}`);
      return 1;
    }
    console.log('\nPASS: every check held');
    return 0;
  };

  let code: number;
  try {
    const running = run();
    running.catch(() => {}); // an interrupted run may still fail while everything stops: that is expected
    code = await Promise.race([running, interrupted]);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    console.error(`--- last process output ---\n${cluster.tail(40)}`);
    code = 1;
  }
  await cluster.stop().catch((err) => console.error('stopping the cluster:', err));
  await db?.close().catch((err) => console.error('closing the database:', err));
  await receiver?.close();
  await new Promise((resolve) => (logFile ? logFile.end(resolve) : resolve(undefined)));
  return code;
}

function printTable(figures: Figure[]): void {
  const mark = (f: Figure) => (f.ok === undefined ? '    ' : f.ok ? ' ok ' : 'FAIL');
  console.log('');
  for (const f of figures) console.log(`${mark(f)}  ${f.label}: ${f.value}`);
}

process.exitCode = await main();
// Undici keep-alive sockets and the like must not hold the process open.
process.exit();
