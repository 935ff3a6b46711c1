import { execFile } from 'node:child_process';
import { readFile, readlink, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { isAlive } from './process-alive.js';

const execFileAsync = promisify(execFile);

/**
 * We spawn the postmaster as a plain child (postgres-process.ts). When the Node process that started it
 * is killed with -9 nothing stops the server: the postmaster is re-parented and keeps running on
 * the data directory, and its postmaster.pid makes every later start fail with "lock file
 * postmaster.pid already exists". Stop such an orphan and clear a pid file that points at nothing,
 * so a restart on the same directory just works.
 */
export async function clearStalePostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const content = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);

  if (Number.isInteger(pid) && pid > 0 && (await isPostmasterOf(pid, dataDir))) {
    log(`stopping orphaned postmaster ${pid} left running on ${dataDir}`);
    await stopProcess(pid);
  }
  // A clean shutdown removes the file itself. Otherwise it is stale: its pid is dead or now belongs to
  // some unrelated process, and PostgreSQL would refuse to start while that pid is alive.
  await rm(pidFile, { force: true });
}

/** True when `pid` is alive, is a postgres process and (where /proc tells us) serves `dataDir`. */
async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (comm !== undefined) {
    if (comm !== 'postgres') return false;
    // The postmaster chdirs into its data directory, so its cwd tells one cluster from another and
    // guards against killing some other postgres that happens to have reused the pid.
    const [cwd, wanted] = await Promise.all([
      readlink(`/proc/${pid}/cwd`).catch(() => undefined),
      realpath(dataDir).catch(() => dataDir),
    ]);
    return cwd === undefined || cwd === wanted;
  }
  // No /proc (macOS): ask ps for the command name instead.
  const ps = await execFileAsync('ps', ['-p', String(pid), '-o', 'comm=']).catch(() => undefined);
  return ps !== undefined && path.basename(ps.stdout.trim()) === 'postgres';
}

/**
 * Fast shutdown first (SIGINT: clean, removes postmaster.pid, no recovery needed next time), then
 * immediate shutdown (SIGQUIT), and SIGKILL only as a last resort because a SIGKILLed postmaster can
 * leave backends holding its shared memory, which blocks the next start.
 */
async function stopProcess(pid: number): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGINT', 15_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    if (await waitForExit(pid, waitMs)) return;
  }
  throw new Error(`orphaned postmaster ${pid} did not exit after SIGINT, SIGQUIT and SIGKILL`);
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(25);
  }
  return !isAlive(pid);
}
