import { readFileSync } from 'node:fs';

/**
 * Resident memory from /proc (Linux; elsewhere every figure is undefined). The benchmark starts the services as
 * `node --import tsx …` directly (devkit's spawnService, no shell or pnpm in between), so the pids the stack knows
 * are the Node.js processes themselves.
 */

const MB = 2 ** 20;

/**
 * `pid`'s resident set in bytes (VmRSS), or with `anonymous`, its private anonymous part only (RssAnon: the heap
 * and stacks, without mapped files or shared memory — what a PostgreSQL process owns beside the shared buffers
 * every one of them maps). Undefined when the process is gone or /proc is not there.
 */
export function rssOf(pid: number, anonymous = false): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${anonymous ? 'RssAnon' : 'VmRSS'}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The sum over `pids` of rssOf (processes gone count nothing); undefined when none could be read. */
export function rssSum(pids: readonly number[], anonymous = false): number | undefined {
  let sum: number | undefined;
  for (const pid of pids) {
    const r = rssOf(pid, anonymous);
    if (r !== undefined) sum = (sum ?? 0) + r;
  }
  return sum;
}

export const mb = (bytes: number | undefined, digits = 0) =>
  bytes === undefined || !Number.isFinite(bytes) ? '-' : (bytes / MB).toFixed(digits);

/** One reading of the services' RSS by role: the orchestrator, and each runner in order. */
export interface RssReading {
  orchestrator: number | undefined;
  runners: (number | undefined)[];
}

export function readServicesRss(pids: { orchestrator: number[]; runners: number[] }): RssReading {
  return { orchestrator: rssSum(pids.orchestrator), runners: pids.runners.map((p) => rssOf(p)) };
}

/** "orchestrator 98 → 131 MB; runners 84, 86 → 97, 99 MB" for a reading before and after a run. */
export function describeRssChange(before: RssReading, after: RssReading): string {
  const runners = (r: RssReading) => r.runners.map((b) => mb(b)).join(', ');
  return (
    `orchestrator ${mb(before.orchestrator)} → ${mb(after.orchestrator)} MB; ` +
    `runners ${runners(before)} → ${runners(after)} MB`
  );
}

/** A series of RSS samples of one role: seconds since the scenario's start, and bytes. */
export interface RssSeries {
  role: string;
  samples: { t: number; bytes: number }[];
}

/**
 * The rule for "bounded", on the samples after the warm-up: the growth over the run's second half (the slope of a
 * least-squares line through the second half's samples, times its length) must stay under the larger of
 * BOUNDED_MB and BOUNDED_SHARE of the level after the warm-up. A fitted line rather than last − first, so that
 * where the garbage collector happened to be in its cycle at the two ends does not decide the verdict.
 */
export const BOUNDED_MB = 10;
export const BOUNDED_SHARE = 0.05;
/**
 * A leak, not noise: the second half grew by more than LEAK_MB and by more than LEAK_SHARE of the level after the
 * warm-up, i.e. the service at least doubled within half the run; the scenario exits non-zero (CI fails). Set about
 * four times above the most a 20-second run read on the busy machine (44 MB, 28%, a runner whose heap was still
 * finding its size), so that CI's quick run fails on a runaway, never on a slow machine.
 */
export const LEAK_MB = 200;
export const LEAK_SHARE = 1;

export type Verdict = 'bounded' | 'growing' | 'LEAK' | 'no data';

export interface RssSummary {
  role: string;
  /** First sample at or after the warm-up. */
  start: number;
  /** Last sample. */
  end: number;
  /** Highest sample of the whole run (warm-up included). */
  max: number;
  /** Least-squares slope over the second half, bytes per minute. */
  slopePerMinute: number;
  /** slopePerMinute × the second half's length, bytes. */
  secondHalfGrowth: number;
  verdict: Verdict;
}

/** Least-squares slope of bytes over seconds; 0 with fewer than two distinct times. */
function slope(points: readonly { t: number; bytes: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mb = points.reduce((a, p) => a + p.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.bytes - mb);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Summarises a role's samples over a run of `durationS` seconds whose first `warmupS` are warm-up. */
export function summarizeRss(series: RssSeries, warmupS: number, durationS: number): RssSummary {
  const all = series.samples;
  const after = all.filter((s) => s.t >= warmupS);
  if (after.length === 0) {
    return {
      role: series.role,
      start: Number.NaN,
      end: Number.NaN,
      max: Number.NaN,
      slopePerMinute: Number.NaN,
      secondHalfGrowth: Number.NaN,
      verdict: 'no data',
    };
  }
  const half = durationS / 2;
  const perSecond = slope(all.filter((s) => s.t >= half));
  const growth = perSecond * (durationS - half);
  const start = after[0]!.bytes;
  const verdict: Verdict =
    growth > LEAK_MB * MB && growth > LEAK_SHARE * start
      ? 'LEAK'
      : growth < Math.max(BOUNDED_MB * MB, BOUNDED_SHARE * start)
        ? 'bounded'
        : 'growing';
  return {
    role: series.role,
    start,
    end: all.at(-1)!.bytes,
    max: Math.max(...all.map((s) => s.bytes)),
    slopePerMinute: perSecond * 60,
    secondHalfGrowth: growth,
    verdict,
  };
}

/** Runs `fn`, reading the services' RSS just before and just after it. */
export async function withRssReadings<T>(
  pids: { orchestrator: number[]; runners: number[] },
  fn: () => Promise<T>,
): Promise<T & { rss: { before: RssReading; after: RssReading } }> {
  const before = readServicesRss(pids);
  const result = await fn();
  return { ...result, rss: { before, after: readServicesRss(pids) } };
}
