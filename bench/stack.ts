import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ServiceProcess, spawnService, waitForHttp } from '@hourglass/devkit';
import {
  createDatabase,
  dropDatabase,
  pickFreePort,
  startEmbeddedPostgres,
  withDatabase,
} from '@hourglass/local-postgres';
import { migrate } from '@hourglass/orchestrator';
import pg from 'pg';
import { childrenOf, parentOf } from './cpu.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BenchPostgres {
  /** Superuser URL of a database on the server, to create and drop the benchmark's databases. */
  adminUrl: string;
  source: 'embedded' | 'url';
  version: string;
  /** The server's durability settings as run (fsync, synchronous_commit, full_page_writes). */
  durability: string;
  stop(): Promise<void>;
}

/**
 * DATABASE_URL's server when set (the benchmark only creates and drops its own databases there), else an
 * embedded PostgreSQL in a temporary directory with the default durability settings (not the tests' fast
 * mode), deleted on stop.
 */
export async function startPostgres(settings: Record<string, string> = {}): Promise<BenchPostgres> {
  const fromEnv = process.env.DATABASE_URL;
  let adminUrl: string;
  let stop = async () => {};
  if (fromEnv) {
    adminUrl = fromEnv;
  } else {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hourglass-bench-pg-'));
    const server = await startEmbeddedPostgres({ dataDir, persistent: false, fast: false, settings });
    adminUrl = server.url;
    stop = () => server.stop();
  }
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string; f: string; s: string; w: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('fsync') AS f,
              current_setting('synchronous_commit') AS s, current_setting('full_page_writes') AS w`,
    );
    const r = rows[0]!;
    return {
      adminUrl,
      source: fromEnv ? 'url' : 'embedded',
      version: r.v,
      durability: `fsync=${r.f}, synchronous_commit=${r.s}, full_page_writes=${r.w}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface StackOptions {
  runners: number;
  concurrency: number;
  orchestratorEnv?: Record<string, string>;
  runnerEnv?: Record<string, string>;
  /** Node.js options for every service process (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
  /** Loads data into the fresh, migrated database before the services start (the backlog scenario). */
  seed?: (db: pg.Pool) => Promise<void>;
  /** Where the children's warnings and errors go. */
  onLog: (line: string) => void;
  /** Receives stop() as soon as there is something to stop, so an interrupt mid-start cleans up too. */
  onStop: (stop: () => Promise<void>) => void;
}

export interface Stack {
  /** The orchestrator's base URL. */
  url: string;
  /** The stack's database. */
  dbUrl: string;
  /** A small pool on the benchmark's database, for the benchmark's own counting and reading. */
  db: pg.Pool;
  /**
   * Every process working for this stack: the benchmark, the services and their PostgreSQL processes (the
   * whole embedded server; with DATABASE_URL, the backends connected to the benchmark's database).
   */
  ownPids(): Promise<number[]>;
  /** The service processes' pids by role (the profile scenario splits CPU time by them). */
  servicePids(): { orchestrator: number[]; runners: number[] };
  /** Throws if a service died while it should be running. */
  assertAlive(): void;
  stop(): Promise<void>;
}

const LOG_LINES_PER_SERVICE = 40;

// Last resort: whatever way the benchmark exits, no service it started outlives it.
const live = new Set<ServiceProcess>();
process.on('exit', () => {
  for (const s of live) s.child.kill('SIGKILL');
});

/**
 * A fresh database `hourglass_bench_<random>` on `server`, migrated, with one orchestrator process and
 * `runners` runner processes on it (real processes, as `pnpm start` runs them). Resolves once every runner
 * has registered and had time to park its first long-poll. stop() stops the processes (runners first, so
 * they deregister) and drops the database; it is safe to call at any point, and more than once.
 */
export async function startStack(server: BenchPostgres, opts: StackOptions): Promise<Stack> {
  const dbName = `hourglass_bench_${randomBytes(5).toString('hex')}`;
  const dbUrl = withDatabase(server.adminUrl, dbName);
  const services: ServiceProcess[] = [];
  let db: pg.Pool | undefined;
  let stopping = false;
  let died: string | undefined;
  let dbCreated = false;

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= stopAll();
    return stopped;
  };
  opts.onStop(stop);
  const stopAll = async () => {
    stopping = true;
    const runners = services.filter((s) => s.kind === 'runner');
    await Promise.all(runners.map((s) => s.stop('SIGTERM', 10_000)));
    await Promise.all(
      services.filter((s) => s.kind === 'orchestrator').map((s) => s.stop('SIGTERM', 10_000)),
    );
    await db?.end().catch(() => {});
    if (dbCreated) await dropDatabase(server.adminUrl, dbName);
  };

  const printed = new Map<string, number>();
  const onLine = (name: string, line: string) => {
    let level = 50;
    try {
      level = (JSON.parse(line) as { level?: number }).level ?? 50;
    } catch {}
    if (level < 40) return;
    const n = (printed.get(name) ?? 0) + 1;
    printed.set(name, n);
    if (n <= LOG_LINES_PER_SERVICE) opts.onLog(`[${name}] ${line}`);
    else if (n === LOG_LINES_PER_SERVICE + 1) opts.onLog(`[${name}] (further log lines suppressed)`);
  };
  const watch = (s: ServiceProcess) => {
    live.add(s);
    void s.exited.then((code) => {
      live.delete(s);
      if (!stopping) died ??= `${s.name} (pid ${s.pid}) exited unexpectedly with ${code}`;
    });
    services.push(s);
  };

  try {
    await createDatabase(server.adminUrl, dbName);
    dbCreated = true;
    await migrate(dbUrl);
    db = new pg.Pool({ connectionString: dbUrl, max: 2, application_name: 'hourglass-bench' });
    db.on('error', () => {});
    await opts.seed?.(db);

    const port = await pickFreePort();
    const url = `http://127.0.0.1:${port}`;
    watch(
      spawnService(
        'orchestrator',
        'orchestrator',
        {
          DATABASE_URL: dbUrl,
          PORT: String(port),
          HOST: '127.0.0.1',
          MIGRATE_ON_START: 'false',
          AUTH_DISABLED: 'true',
          LOG_LEVEL: 'warn',
          ...opts.orchestratorEnv,
        },
        onLine,
        { nodeArgs: opts.nodeArgs },
      ),
    );
    await waitForHttp(`${url}/readyz`, 30_000);
    if (died) throw new Error(died);

    for (let i = 1; i <= opts.runners; i++) {
      watch(
        spawnService(
          'runner',
          `runner-${i}`,
          {
            ORCHESTRATOR_URL: url,
            RUNNER_NAME: `bench-runner-${i}`,
            RUNNER_CONCURRENCY: String(opts.concurrency),
            SHUTDOWN_GRACE_MS: '5000',
            LOG_LEVEL: 'warn',
            ...opts.runnerEnv,
          },
          onLine,
          { nodeArgs: opts.nodeArgs },
        ),
      );
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (died) throw new Error(died);
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM runners WHERE status = 'ONLINE'",
      );
      if (rows[0]!.n >= opts.runners) break;
      if (Date.now() > deadline)
        throw new Error(`only ${rows[0]!.n} of ${opts.runners} runners registered in 30 s`);
      await sleep(50);
    }
    // Registered runners start their first long-poll right away; give it time to park.
    await sleep(500);

    const pool = db;
    return {
      url,
      dbUrl,
      db: pool,
      async ownPids() {
        const { rows } = await pool.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
        );
        let pgPids = rows.map((r) => r.pid);
        const postmaster = server.source === 'embedded' ? parentOf(pgPids[0]!) : undefined;
        if (postmaster !== undefined) pgPids = [postmaster, ...childrenOf(postmaster)];
        return [process.pid, ...services.map((s) => s.pid), ...pgPids];
      },
      servicePids() {
        const of = (kind: string) => services.filter((s) => s.kind === kind).map((s) => s.pid);
        return { orchestrator: of('orchestrator'), runners: of('runner') };
      },
      assertAlive() {
        if (died) throw new Error(died);
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
