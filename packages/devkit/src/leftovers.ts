import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));
/** The running stack's pid and its services' pids, so that the next start can clean up after a crash. */
const STATE_FILE = path.join(ROOT, '.data', 'stack.json');

interface SavedState {
  pid: number;
  services: { name: string; pid: number; entry: string }[];
}

/**
 * Remembers which processes `pnpm start` runs. A stack killed with -9 leaves its orchestrators and runners
 * running (holding their ports) like it leaves its postmaster; the next start stops them, the way
 * startEmbeddedPostgres stops an orphaned postmaster.
 */
export class StackState {
  private state: SavedState;

  private constructor() {
    this.state = { pid: process.pid, services: [] };
  }

  /**
   * Refuses when another stack is running from this checkout; stops the services a crashed one left behind
   * (SIGTERM, so runners hand their work back, then SIGKILL after `graceMs`). Then claims the state file.
   */
  static async claim(log: (line: string) => void, graceMs: number): Promise<StackState> {
    await mkdir(path.dirname(STATE_FILE), { recursive: true });
    const previous = await readFile(STATE_FILE, 'utf8').then(
      (text) => JSON.parse(text) as SavedState,
      () => undefined,
    );
    if (previous && previous.pid !== process.pid && (await runs(previous.pid, 'scripts/stack.ts'))) {
      throw new Error(
        `another \`pnpm start\` is running from this checkout (pid ${previous.pid}); stop it first`,
      );
    }
    const orphans: SavedState['services'] = [];
    for (const s of previous?.services ?? []) if (await runs(s.pid, s.entry)) orphans.push(s);
    if (orphans.length > 0) {
      log(
        `stopping ${orphans.map((o) => `${o.name} (pid ${o.pid})`).join(', ')} left by a stack that crashed`,
      );
      // Runners first, while their orchestrators can still take their reports.
      const isRunner = (o: { entry: string }) => o.entry.includes('/runner/');
      await stopAll(orphans.filter(isRunner), graceMs);
      await stopAll(
        orphans.filter((o) => !isRunner(o)),
        graceMs,
      );
    }
    const state = new StackState();
    state.save();
    return state;
  }

  add(name: string, pid: number, entry: string): void {
    this.state.services.push({ name, pid, entry });
    this.save();
  }

  async release(): Promise<void> {
    await rm(STATE_FILE, { force: true });
  }

  private save(): void {
    writeFileSync(STATE_FILE, `${JSON.stringify(this.state)}\n`);
  }
}

/** SIGTERM, then SIGKILL for whatever is still alive after `graceMs`. */
async function stopAll(processes: { pid: number }[], graceMs: number): Promise<void> {
  for (const p of processes) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processes.some((p) => alive(p.pid)) && Date.now() < deadline) await sleep(100);
  for (const p of processes) if (alive(p.pid)) signal(p.pid, 'SIGKILL');
}

/** True when `pid` is alive and runs `entry` (relative to the repo root) of this checkout: guards against pid reuse. */
async function runs(pid: number, entry: string): Promise<boolean> {
  if (!alive(pid)) return false;
  const wanted = path.join(ROOT, entry);
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const cwd = await readlink(`/proc/${pid}/cwd`);
    return args.some((a) => a !== '' && path.resolve(cwd, a) === wanted);
  } catch {
    return false; // no /proc (macOS): leave it alone rather than guess
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie (exited, not yet reaped) counts as gone.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
