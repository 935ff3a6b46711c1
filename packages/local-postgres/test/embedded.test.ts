import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  isTemplateInUse,
  provisionTestPostgres,
  type RunningPostgres,
  sealTemplate,
  startEmbeddedPostgres,
  withDatabase,
} from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/start-embedded.ts', import.meta.url));

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  const rows = await query(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length === 1;
}

/** Alive and not a zombie: an orphan that exits may never be reaped when PID 1 does not reap. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true;
  }
}

/** Resolves with the first JSON line the child prints; rejects with its stderr if it exits first. */
function firstJsonLine(child: ChildProcess): Promise<{ port: number }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) early:\n${err}`)),
    );
  });
}

describe('startEmbeddedPostgres after kill -9', () => {
  let dataDir: string | undefined;
  let orphanPid: number | undefined;

  afterAll(async () => {
    // Only if the test failed half-way: do not leave the orphan we caused running.
    if (orphanPid !== undefined && isRunning(orphanPid)) process.kill(orphanPid, 'SIGQUIT');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stops the orphaned postmaster, clears its pid file and starts on the same directory', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'local-postgres-kill9-'));
    // node --import tsx (not the tsx CLI, which would run the script in a grandchild) so that the pid
    // we SIGKILL is the very process that spawned postgres.
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { port: firstPort } = await firstJsonLine(child);
    orphanPid = Number.parseInt(
      (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]!,
      10,
    );
    await query(`postgres://postgres:postgres@127.0.0.1:${firstPort}/postgres`, 'SELECT 1');

    child.kill('SIGKILL');
    await once(child, 'exit');
    // The situation under test: the postmaster outlived its parent and still holds the data directory.
    expect(isRunning(orphanPid)).toBe(true);
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(true);

    const server = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
    try {
      expect(isRunning(orphanPid)).toBe(false);
      const rows = await query<{ one: number }>(server.url, 'SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await server.stop();
    }
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('database helpers on an embedded server', () => {
  let server: RunningPostgres;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'local-postgres-db-'));
    server = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  });

  afterAll(async () => {
    await server?.stop();
    expect(existsSync(dataDir)).toBe(false);
  });

  it('listens on 127.0.0.1 with the configured settings', async () => {
    expect(server.url).toBe(`postgres://postgres:postgres@127.0.0.1:${server.port}/postgres`);
    const [settings] = await query<{ listen: string; max: string; fsync: string }>(
      server.url,
      `SELECT current_setting('listen_addresses') AS listen, current_setting('max_connections') AS max,
              current_setting('fsync') AS fsync`,
    );
    expect(settings).toEqual({ listen: '127.0.0.1', max: '300', fsync: 'off' });
  });

  it('clones a template with its contents and force-drops a database that has sessions', async () => {
    // Names that only work when quoted properly.
    const template = 'tpl "quoted" Name';
    const clone = 'clone; DROP DATABASE postgres; --';
    await createDatabase(server.url, template);
    await query(withDatabase(server.url, template), 'CREATE TABLE t (v text)');
    await query(withDatabase(server.url, template), 'INSERT INTO t VALUES ($1)', ['from the template']);

    await createDatabase(server.url, clone, template);
    expect(await databaseExists(server.url, clone)).toBe(true);

    const session = new pg.Client({ connectionString: withDatabase(server.url, clone) });
    session.on('error', () => {}); // terminated by the forced drop below
    await session.connect();
    try {
      const { rows } = await session.query('SELECT v FROM t');
      expect(rows).toEqual([{ v: 'from the template' }]);

      await dropDatabase(server.url, clone); // WITH (FORCE): the open session must not block it
      expect(await databaseExists(server.url, clone)).toBe(false);
      await expect(session.query('SELECT 1')).rejects.toThrow();
    } finally {
      await session.end().catch(() => {});
    }

    await dropDatabase(server.url, clone); // IF EXISTS: dropping twice is fine
    expect(await databaseExists(server.url, 'postgres')).toBe(true);
    await dropDatabase(server.url, template);
    expect(await databaseExists(server.url, template)).toBe(false);
  });

  it('sealTemplate ends sessions on the template so it can be cloned, and it can still be dropped', async () => {
    const template = 'sealed_template';
    await createDatabase(server.url, template);
    const session = new pg.Client({ connectionString: withDatabase(server.url, template) });
    session.on('error', () => {});
    await session.connect();

    await sealTemplate(server.url, template);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await session.end().catch(() => {});
    await expect(query(withDatabase(server.url, template), 'SELECT 1')).rejects.toThrow(
      /not currently accepting connections/,
    );

    await createDatabase(server.url, 'from_sealed', template);
    expect(await databaseExists(server.url, 'from_sealed')).toBe(true);
    await dropDatabase(server.url, 'from_sealed');
    await dropDatabase(server.url, template);
    expect(await databaseExists(server.url, template)).toBe(false);
  });
});

describe('pure helpers', () => {
  it('withDatabase replaces only the database name', () => {
    expect(withDatabase('postgres://u:p%40ss@db.example:6543/postgres?sslmode=require', 'app test')).toBe(
      'postgres://u:p%40ss@db.example:6543/app%20test?sslmode=require',
    );
    expect(withDatabase('postgresql://postgres@127.0.0.1/postgres', 'x')).toBe(
      'postgresql://postgres@127.0.0.1/x',
    );
    // Kept literal because node-postgres would not decode their escapes (decodeURI); %, space and
    // non-ASCII are escaped because decodeURI does decode those.
    expect(withDatabase('postgres://h/postgres', 'a;b@c=d 100% é')).toBe(
      'postgres://h/a;b@c=d%20100%25%20%C3%A9',
    );
  });

  it('isTemplateInUse recognises the clone-while-connected error', () => {
    expect(isTemplateInUse({ code: '55006' })).toBe(true);
    expect(isTemplateInUse(new Error('source database "t" is being accessed by other users'))).toBe(true);
    expect(isTemplateInUse(new Error('permission denied'))).toBe(false);
    expect(isTemplateInUse(undefined)).toBe(false);
  });

  it('provisionTestPostgres prefers TEST_DATABASE_URL over DATABASE_URL and never stops it', async () => {
    vi.stubEnv('TEST_DATABASE_URL', 'postgres://a@127.0.0.1:1/test');
    vi.stubEnv('DATABASE_URL', 'postgres://b@127.0.0.1:2/dev');
    try {
      const server = await provisionTestPostgres();
      expect(server).toMatchObject({ url: 'postgres://a@127.0.0.1:1/test', source: 'env' });
      await server.stop();
      vi.stubEnv('TEST_DATABASE_URL', '');
      expect(await provisionTestPostgres()).toMatchObject({
        url: 'postgres://b@127.0.0.1:2/dev',
        source: 'env',
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
