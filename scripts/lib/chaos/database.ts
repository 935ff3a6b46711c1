import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  createDatabase,
  dropDatabase,
  makeTempDataDir,
  type RunningPostgres,
  startEmbeddedPostgres,
  withDatabase,
} from '@hourglass/local-postgres';
import { migrate } from '../../../apps/orchestrator/src/db/migrate.js';

/** The chaos run's database, on a server the run may be allowed to stop and start. */
export interface ChaosDatabase {
  /** URL of the run's (migrated) database. */
  url: string;
  /** `embedded`: a server of the run's own, which it may stop and start; `url`: DATABASE_URL's, left alone. */
  source: 'embedded' | 'url';
  /** Stops the server (a fast shutdown: sessions are cut, open transactions roll back). Embedded only. */
  stopServer(): Promise<void>;
  /** Starts it again on the same data directory and port. Embedded only. */
  startServer(): Promise<void>;
  /** Drops the run's database; an embedded server is stopped and its directory deleted. */
  close(): Promise<void>;
  /** Last resort on exit (synchronous): stops an embedded server left running and deletes its directory. */
  abandon(): void;
}

/**
 * DATABASE_URL's server when set (a fresh database `hourglass_chaos_<random>` there, dropped at the end; the
 * server is never stopped), else an embedded PostgreSQL in a temporary directory that the run can stop and
 * start on the same data directory and port.
 */
export async function openChaosDatabase(serverLog: (line: string) => void): Promise<ChaosDatabase> {
  const name = `hourglass_chaos_${randomBytes(5).toString('hex')}`;
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    await createDatabase(fromEnv, name);
    const url = withDatabase(fromEnv, name);
    await migrate(url);
    const refuse = async () => {
      throw new Error('the PostgreSQL of DATABASE_URL is not the run’s to stop');
    };
    return {
      url,
      source: 'url',
      stopServer: refuse,
      startServer: refuse,
      close: () => dropDatabase(fromEnv, name),
      abandon: () => {},
    };
  }

  const dataDir = await makeTempDataDir('hourglass-chaos-pg-');
  // persistent: stop() keeps the cluster so that it can start again; the run deletes the directory itself.
  const start = (port?: number) =>
    startEmbeddedPostgres({ dataDir, port, persistent: true, fast: true, log: serverLog });
  let server: RunningPostgres | undefined;
  try {
    server = await start();
    await createDatabase(server.url, name);
    await migrate(withDatabase(server.url, name));
  } catch (err) {
    await server?.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = server.port;
  let running: RunningPostgres | undefined = server;
  return {
    url: withDatabase(server.url, name),
    source: 'embedded',
    async stopServer() {
      await running?.stop();
      running = undefined;
    },
    async startServer() {
      if (running) return;
      running = await start(port);
    },
    async close() {
      await running?.stop();
      running = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
    abandon() {
      try {
        // The postmaster's pid is the first line of postmaster.pid; SIGQUIT is PostgreSQL's immediate shutdown.
        const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pid > 0) process.kill(pid, 'SIGQUIT');
      } catch {}
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
