import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '@hourglass/local-postgres';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * Where `pnpm start` and `pnpm db:migrate` keep the embedded cluster (.gitignore ignores .data/), unless we are
 * root and the postgres user cannot reach it (see devDataDir).
 */
export const DEV_DATA_DIR = path.join(ROOT, '.data', 'postgres');
/** Who runs the embedded server right now, so a second process joins it instead of fighting over it. */
const OWNER_FILE = path.join(ROOT, '.data', 'postgres.owner.json');
const DEFAULT_PORT = 5433;
const DEV_DB = 'hourglass';

export interface DevDatabase {
  /** URL of the database the system uses. */
  url: string;
  /** `env`: DATABASE_URL; `embedded`: we started the server on dataDir; `shared`: another process did. */
  source: 'env' | 'embedded' | 'shared';
  /** The embedded cluster's directory (not for `env`). */
  dataDir?: string;
  /** Stops the server if we started it; a no-op otherwise. */
  stop(): Promise<void>;
}

export interface DevDatabaseOptions {
  /**
   * When another process (a running `pnpm start`) already serves the cluster: true uses its server
   * (`pnpm db:migrate`), false refuses with a message (a second `pnpm start` would stop it under the first).
   */
  joinRunning: boolean;
  /** Receives what this helper does (port changes, joining a running server). */
  log?: (line: string) => void;
  /** Receives PostgreSQL's own output (initdb, server log), one line at a time. */
  serverLog?: (line: string) => void;
}

/**
 * The database for local development: DATABASE_URL when set; otherwise an embedded PostgreSQL with its data in
 * .data/postgres (see devDataDir), on 127.0.0.1:EMBEDDED_PG_PORT (5433 by default, another free port when that
 * one is taken), holding a database named `hourglass`. A postmaster left behind by a crashed run is cleared first.
 */
export async function resolveDevDatabase(opts: DevDatabaseOptions): Promise<DevDatabase> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, source: 'env', stop: async () => {} };
  const log = opts.log ?? (() => {});
  const { startEmbeddedPostgres, createDatabase, withDatabase } = await import('@hourglass/local-postgres');
  const dataDir = await devDataDir(log);

  const owner = await runningOwner(dataDir);
  if (owner) {
    if (opts.joinRunning) {
      log(`using the embedded PostgreSQL that process ${owner.pid} runs on ${dataDir}`);
      return { url: owner.url, source: 'shared', dataDir, stop: async () => {} };
    }
    throw new Error(
      `the embedded PostgreSQL in ${dataDir} is already run by process ${owner.pid} (${owner.url}). ` +
        'Stop that process first, or set DATABASE_URL to use another server.',
    );
  }

  const wanted = parsePort(process.env.EMBEDDED_PG_PORT);
  // A postmaster orphaned by a crash may hold the port; startEmbeddedPostgres stops it, so the port comes free.
  const port = (await portIsFree(wanted)) || (await orphanHolds(wanted, dataDir)) ? wanted : undefined;
  if (port === undefined) log(`port ${wanted} is taken; the embedded PostgreSQL picks a free one`);

  await mkdir(path.dirname(OWNER_FILE), { recursive: true });
  const server = await startEmbeddedPostgres({
    dataDir,
    port,
    persistent: true,
    log: opts.serverLog,
  });
  try {
    if (!(await databaseExists(server.url, DEV_DB))) await createDatabase(server.url, DEV_DB);
    const url = withDatabase(server.url, DEV_DB);
    await writeFile(OWNER_FILE, `${JSON.stringify({ pid: process.pid, url })}\n`);
    return {
      url,
      source: 'embedded',
      dataDir,
      stop: async () => {
        await server.stop();
        await rm(OWNER_FILE, { force: true });
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * .data/postgres, or, as root when the postgres user (the server's, PostgreSQL refuses root) cannot walk into
 * this checkout (a mode-700 home or `mktemp -d` folder), a directory under /var/tmp/hourglass-postgres named
 * after a hash of the checkout's path: stable, so the data survives restarts, and one per checkout.
 */
async function devDataDir(log: (line: string) => void): Promise<string> {
  const { reachableDataDir } = await import('@hourglass/local-postgres');
  const name = `data-${path.basename(ROOT)}-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`;
  const { dir, movedBecause } = await reachableDataDir(DEV_DATA_DIR, name);
  if (movedBecause) log(`embedded PostgreSQL data lives in ${dir}, not .data/postgres: ${movedBecause}`);
  return dir;
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`EMBEDDED_PG_PORT: must be a TCP port (1-65535), got '${value}'`);
  }
  return port;
}

/** True when nothing listens on `host`:`port` (we could bind it just now). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

/** The process serving `dataDir` now, if any: its owner file names a live process and the server runs. */
async function runningOwner(dataDir: string): Promise<{ pid: number; url: string } | undefined> {
  const owner = await readFile(OWNER_FILE, 'utf8').then(
    (text) => JSON.parse(text) as { pid: number; url: string },
    () => undefined,
  );
  if (!owner || owner.pid === process.pid || !isAlive(owner.pid)) return undefined;
  const pidFile = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const postmaster = Number.parseInt(pidFile.split('\n')[0] ?? '', 10);
  // A live owner without a live postmaster is a recycled pid, or a crash: the start below clears it up.
  return Number.isInteger(postmaster) && postmaster > 0 && isAlive(postmaster) ? owner : undefined;
}

/** True when the postmaster named in `dataDir`/postmaster.pid is alive and listens on `port`. */
async function orphanHolds(port: number, dataDir: string): Promise<boolean> {
  // postmaster.pid: pid, data directory, start time, port, …
  const lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) && Number(lines[3]) === port;
}
