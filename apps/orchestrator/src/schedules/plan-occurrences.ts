import { nextOccurrence, occurrencesBetween, type Schedule } from './schedule.js';

/** An occurrence more than this far in the past when the scheduler sees it was missed (downtime), not late. */
export const MISSED_AFTER_MS = 5_000;
/** `fire_all` backfills at most this many missed occurrences per job; older ones are recorded as skipped. */
export const MAX_BACKFILL = 100;
/** One plan looks at this many due occurrences at most; a longer backlog is planned over several scheduler ticks. */
const PLAN_LIMIT = 10_000;

export type OccurrenceStatus = 'CREATED' | 'SKIPPED' | 'QUEUED';
export interface PlannedOccurrence {
  scheduledFor: Date;
  status: OccurrenceStatus;
  reason: string | null;
}

export interface PlanInput {
  schedule: Schedule;
  /** The job's next_run_at: the first occurrence not yet planned. */
  nextRunAt: Date;
  now: Date;
  catchUp: 'fire_once' | 'fire_all' | 'skip';
  overlap: 'skip' | 'allow' | 'queue';
  /** Whether an earlier occurrence is still pending or running. */
  busy: boolean;
}

/**
 * Decides what happens to a recurring job's due occurrences (those from next_run_at up to now) and where its
 * schedule goes next. Catch-up first: occurrences missed during downtime are all run (`fire_all`, bounded),
 * reduced to the latest one (`fire_once`), or skipped (`skip`). Then overlap: while an earlier occurrence is
 * still busy, a new one is skipped (`skip`), queued behind it (`queue`), or run anyway (`allow`).
 */
export function planOccurrences(p: PlanInput): { occurrences: PlannedOccurrence[]; nextRunAt: Date | null } {
  const due = occurrencesBetween(p.schedule, p.nextRunAt, p.now, PLAN_LIMIT);
  const last = due.at(-1);
  const nextRunAt = nextOccurrence(p.schedule, last ?? new Date(p.now.getTime()));
  if (nextRunAt && nextRunAt <= p.now) {
    // More due than one plan looks at (a long outage of a frequent schedule): these are the oldest of the
    // backlog, older than anything a catch-up policy runs, so they are skipped and the rest is planned next.
    // Running the latest of each slice instead made `fire_once` fire once per slice.
    const reason =
      p.catchUp === 'fire_all'
        ? `beyond the backfill bound of ${MAX_BACKFILL} (catch-up: fire_all)`
        : `missed while the system was down (catch-up: ${p.catchUp})`;
    return { occurrences: due.map((t) => ({ scheduledFor: t, status: 'SKIPPED', reason })), nextRunAt };
  }
  const missedBefore = p.now.getTime() - MISSED_AFTER_MS;
  const missed = due.filter((t) => t.getTime() < missedBefore);
  const onTime = due.filter((t) => t.getTime() >= missedBefore);

  const planned: PlannedOccurrence[] = [];
  const skip = (t: Date, reason: string) => planned.push({ scheduledFor: t, status: 'SKIPPED', reason });
  let run: Date[];
  if (missed.length === 0) run = onTime;
  else if (p.catchUp === 'skip') {
    for (const t of missed) skip(t, 'missed while the system was down (catch-up: skip)');
    run = onTime;
  } else if (p.catchUp === 'fire_once') {
    // One catch-up run for everything missed: the latest due occurrence stands for all of them.
    for (const t of due.slice(0, -1)) skip(t, 'missed while the system was down (catch-up: fire_once)');
    run = [last!];
  } else {
    const dropped = missed.length > MAX_BACKFILL ? missed.slice(0, missed.length - MAX_BACKFILL) : [];
    for (const t of dropped) skip(t, `beyond the backfill bound of ${MAX_BACKFILL} (catch-up: fire_all)`);
    run = [...missed.slice(dropped.length), ...onTime];
  }

  let busy = p.busy;
  for (const t of run) {
    if (!busy || p.overlap === 'allow') {
      planned.push({ scheduledFor: t, status: 'CREATED', reason: null });
      // A backfill runs in full; overlap is about occurrences meeting one still running from before.
      busy = p.overlap !== 'allow' && missed.length === 0;
    } else if (p.overlap === 'skip') {
      skip(t, 'the previous occurrence was still running (overlap: skip)');
    } else {
      planned.push({
        scheduledFor: t,
        status: 'QUEUED',
        reason: 'waits for the previous occurrence (overlap: queue)',
      });
    }
  }
  planned.sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());
  return { occurrences: planned, nextRunAt };
}
