import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists (EPERM: it does, owned by another user such as `postgres`). Signal 0
 * probes for existence. An orphan that exits is reaped by whoever adopted it; where PID 1
 * does not reap (some containers) it lingers as a zombie, which counts as gone for our purposes.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no /proc: assume a live process
  }
  // "pid (comm) state ...": comm may contain spaces and parentheses, so look after the last ')'.
  return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
}
