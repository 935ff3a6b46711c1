import { Cron } from 'croner';

/** When a recurring job's occurrences fall. Pure functions of a schedule and a time: tests inject the time. */
export type Schedule =
  | { kind: 'cron'; expression: string; timezone: string }
  /** Occurrences at anchor + k × interval, k ≥ 0. */
  | { kind: 'interval'; intervalSeconds: number; anchor: Date };

export const DEFAULT_TIMEZONE = 'UTC';

/** Why a cron expression or time zone is refused, or undefined when both are fine. */
export function cronProblem(
  expression: string,
  timezone: string,
): { field: string; message: string } | undefined {
  if (!isTimeZone(timezone)) return { field: 'timezone', message: `unknown IANA time zone '${timezone}'` };
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return { field: 'scheduleExpression', message: `needs 5 or 6 fields (seconds first), got ${fields}` };
  }
  try {
    const cron = new Cron(expression, { timezone, paused: true });
    if (!cron.nextRun()) return { field: 'scheduleExpression', message: 'never fires' };
  } catch (err) {
    return { field: 'scheduleExpression', message: (err as Error).message.replace(/^CronPattern: /, '') };
  }
  return undefined;
}

export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The croner reading of a cron schedule. UTC (the default zone) goes by a fixed offset: the same times, and a
 * step costs about 3 µs instead of the 36 µs croner spends converting through Intl for a named zone (measured
 * stepping an every-second expression 10,000 times, issue 10 defect 8).
 */
function cronOf(s: Extract<Schedule, { kind: 'cron' }>): Cron {
  return new Cron(
    s.expression,
    s.timezone === 'UTC' ? { utcOffset: 0, paused: true } : { timezone: s.timezone, paused: true },
  );
}

/** The first occurrence strictly after `after`, or null if there is none. */
export function nextOccurrence(s: Schedule, after: Date): Date | null {
  return occurrencesAfter(s, after).next().value ?? null;
}

/**
 * Occurrences strictly after `after`, oldest first, for as long as the caller steps. One parsed cron is stepped
 * along (a new `Cron` per occurrence parsed the expression again each time); an interval is arithmetic.
 */
export function* occurrencesAfter(s: Schedule, after: Date): Generator<Date, void, undefined> {
  if (s.kind === 'cron') {
    const cron = cronOf(s);
    for (let t = cron.nextRun(after); t; t = cron.nextRun(t)) yield t;
    return;
  }
  const step = s.intervalSeconds * 1000;
  const anchor = s.anchor.getTime();
  let k = after.getTime() < anchor ? 0 : Math.floor((after.getTime() - anchor) / step) + 1;
  for (;;) yield new Date(anchor + k++ * step);
}

/** Occurrences in [from, to], oldest first, at most `limit` (the rest are dropped, oldest kept). */
export function occurrencesBetween(s: Schedule, from: Date, to: Date, limit: number): Date[] {
  const out: Date[] = [];
  if (limit <= 0) return out;
  for (const t of occurrencesAfter(s, new Date(from.getTime() - 1))) {
    if (t > to) break;
    out.push(t);
    if (out.length >= limit) break;
  }
  return out;
}
