import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU accounting from /proc (Linux; elsewhere every figure is NaN). The benchmark shares the machine with
 * whatever else runs on it, so each run reports the CPU time its own processes used (benchmark, services and
 * their PostgreSQL processes) and the CPU time everything else used meanwhile: when the second is large, the
 * run measured a busy machine.
 */
const USER_HZ = 100; // /proc reports clock ticks, 100 per second on every mainstream Linux build

/** utime + stime of `pid` and its ppid, or undefined when it is gone. */
function readProcess(pid: number): { ticks: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ticks: Number(f[11]) + Number(f[12]), ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

/** Busy ticks of the whole machine, all cores (everything but idle and iowait). */
function machineBusyTicks(): number {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  } catch {
    return Number.NaN;
  }
}

/** Children of `parent` (e.g. every process of a PostgreSQL server that belongs to the benchmark). */
export function childrenOf(parent: number): number[] {
  const out: number[] = [];
  try {
    for (const d of readdirSync('/proc')) {
      if (/^\d+$/.test(d) && readProcess(Number(d))?.ppid === parent) out.push(Number(d));
    }
  } catch {}
  return out;
}

/** The parent of `pid` (a PostgreSQL backend's parent is the postmaster). */
export function parentOf(pid: number): number | undefined {
  return readProcess(pid)?.ppid;
}

export interface CpuUsage {
  /** CPU seconds used by the benchmark's own processes. */
  ours: number;
  /** CPU seconds used by every other process on the machine meanwhile. */
  others: number;
}

/** Starts measuring the benchmark's processes `pids`; stop() takes them again (a process that appeared in
 * between, such as a new database connection, counts from zero). */
export function startCpuMeter(pids: number[]): { stop(pids: number[]): CpuUsage } {
  const machine0 = machineBusyTicks();
  const before = new Map(pids.map((pid) => [pid, readProcess(pid)?.ticks ?? 0]));
  return {
    stop(pidsNow) {
      const machine = machineBusyTicks() - machine0;
      let own = 0;
      for (const pid of new Set([...before.keys(), ...pidsNow])) {
        const now = readProcess(pid)?.ticks;
        if (now !== undefined) own += now - (before.get(pid) ?? 0);
      }
      return { ours: own / USER_HZ, others: Math.max(0, machine - own) / USER_HZ };
    },
  };
}

/** CPU seconds used so far by the processes `pids` (those gone count nothing). */
export function cpuSecondsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readProcess(pid)?.ticks ?? 0;
  return ticks / USER_HZ;
}
