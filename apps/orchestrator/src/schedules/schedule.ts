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

/** The first occurrence strictly after `after`, or null if there is none. */
export function nextOccurrence(s: Schedule, after: Date): Date | null {
  if (s.kind === 'cron') {
    return new Cron(s.expression, { timezone: s.timezone, paused: true }).nextRun(after);
  }
  const step = s.intervalSeconds * 1000;
  const anchor = s.anchor.getTime();
  if (after.getTime() < anchor) return new Date(anchor);
  const k = Math.floor((after.getTime() - anchor) / step) + 1;
  return new Date(anchor + k * step);
}

/** Occurrences in [from, to], oldest first, at most `limit` (the rest are dropped, oldest kept). */
export function occurrencesBetween(s: Schedule, from: Date, to: Date, limit: number): Date[] {
  const out: Date[] = [];
  let t: Date | null = new Date(from.getTime() - 1);
  while (out.length < limit) {
    t = nextOccurrence(s, t);
    if (!t || t > to) break;
    out.push(t);
  }
  return out;
}
