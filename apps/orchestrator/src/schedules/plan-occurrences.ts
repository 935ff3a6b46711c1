import { nextOccurrence, occurrencesAfter, type Schedule } from './schedule.js';

/** An occurrence more than this far in the past when the scheduler sees it was missed (downtime), not late. */
export const MISSED_AFTER_MS = 5_000;
/** `fire_all` backfills at most this many missed occurrences per job (the newest); older ones are skipped. */
export const MAX_BACKFILL = 100;
/**
 * Missed occurrences one plan steps through, by default; a longer backlog is planned over several scheduler
 * ticks. Planning up to 10,000 at once, each with a new `Cron`, held the event loop for ~0.5 s per job (issue 10,
 * defect 8).
 */
export const PLAN_STEPS = 1_000;
/**
 * How long the scheduler lets one plan step (wall clock), whatever the steps cost: a cron step takes ~3 µs in UTC
 * but ~36 µs in a named time zone, and three times that on a loaded 2-core machine, so a step count alone let a
 * plan hold the event loop for 100 ms there.
 */
export const PLAN_SLICE_MS = 10;

export type OccurrenceStatus = 'CREATED' | 'SKIPPED' | 'QUEUED';

/**
 * One planned occurrence, or a run of consecutive ones skipped for the same reason: skipped occurrences are
 * counted, not listed, so a long outage costs one entry instead of one per missed occurrence.
 */
export interface PlannedOccurrence {
  /** The occurrence, or the first of a skipped run. */
  scheduledFor: Date;
  /** The last occurrence the entry stands for (scheduledFor unless a skipped run). */
  lastScheduledFor: Date;
  /** How many occurrences the entry stands for: 1, or more for a skipped run. */
  count: number;
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
  /** The job's latest recorded occurrence, if it is a skipped one: a skipped run may go on from it. */
  previousSkip?: { reason: string | null; lastScheduledFor: Date } | null;
  /** Missed occurrences to step through at most (default PLAN_STEPS); the rest are planned next time. */
  budget?: number;
  /** Also stop stepping through missed occurrences after this long (ms, wall clock); none by default. */
  sliceMs?: number;
}

export interface Plan {
  /** Oldest first; consecutive skipped occurrences with the same reason are one entry. */
  occurrences: PlannedOccurrence[];
  /** Where the schedule goes on from: after now, or (more) the first occurrence not planned yet. */
  nextRunAt: Date | null;
  /** The first entry continues `previousSkip` (the same reason, no occurrence between them): extend that row. */
  extendsPrevious: boolean;
  /** Occurrences are still due beyond this plan's budget: plan again soon. */
  more: boolean;
  /** Occurrences stepped through (the work done). */
  steps: number;
}

/**
 * Decides what happens to a recurring job's due occurrences (those from next_run_at up to now) and where its
 * schedule goes next. Catch-up first: occurrences missed during downtime are all run (`fire_all`, the newest
 * MAX_BACKFILL), reduced to the latest one (`fire_once`), or skipped (`skip`). Then overlap: while an earlier
 * occurrence is still busy, a new one is skipped (`skip`), queued behind it (`queue`), or run anyway (`allow`).
 *
 * One pass over the occurrences with one schedule iterator, holding back only the missed ones that may still run
 * (the latest for `fire_once`, the newest MAX_BACKFILL for `fire_all`): whatever falls out of that window is
 * skipped whatever comes after it, so a backlog longer than the budget is planned in slices with the same result
 * as planning it at once.
 */
export function planOccurrences(p: PlanInput): Plan {
  // Missed occurrences that may still run, held back: fire_once the latest, fire_all the newest MAX_BACKFILL.
  const window = { fire_once: 1, fire_all: MAX_BACKFILL, skip: 0 }[p.catchUp];
  // A plan stops only after 100 missed occurrences more than it may hold back (which the next plan steps through
  // again), so each plan skips at least 100: it progresses.
  const atLeast = window + 100;
  const budget = Math.max(p.budget ?? PLAN_STEPS, atLeast);
  const until = p.sliceMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + p.sliceMs;
  const missedBefore = p.now.getTime() - MISSED_AFTER_MS;
  const catchUpReason =
    p.catchUp === 'fire_all'
      ? `beyond the backfill bound of ${MAX_BACKFILL} (catch-up: fire_all)`
      : `missed while the system was down (catch-up: ${p.catchUp})`;

  const planned: PlannedOccurrence[] = [];
  const add = (t: Date, status: OccurrenceStatus, reason: string | null) => {
    const last = planned.at(-1);
    if (status === 'SKIPPED' && last?.status === 'SKIPPED' && last.reason === reason) {
      last.lastScheduledFor = t;
      last.count++;
    } else planned.push({ scheduledFor: t, lastScheduledFor: t, count: 1, status, reason });
  };
  const result = (nextRunAt: Date | null, more: boolean): Plan => {
    const first = planned[0];
    const prev = p.previousSkip;
    const extendsPrevious =
      !!prev &&
      first?.status === 'SKIPPED' &&
      first.reason === prev.reason &&
      nextOccurrence(p.schedule, prev.lastScheduledFor)?.getTime() === first.scheduledFor.getTime();
    return { occurrences: planned, nextRunAt, extendsPrevious, more, steps };
  };

  // Missed occurrences that may still run, oldest first; and the on-time ones (no catch-up applies to them).
  const held: Date[] = [];
  const onTime: Date[] = [];
  let missed = false;
  let steps = 0;
  const slots = occurrencesAfter(p.schedule, new Date(p.nextRunAt.getTime() - 1));
  let t = slots.next().value ?? null;
  for (; t && t <= p.now; t = slots.next().value ?? null) {
    const isMissed = t.getTime() < missedBefore;
    if (
      isMissed &&
      (steps >= budget || (steps >= atLeast && steps % 16 === 0 && performance.now() > until))
    ) {
      // Out of budget inside the backlog: what was skipped stays skipped whatever follows; the held-back
      // occurrences are looked at again next time, from the first of them.
      return result(held[0] ?? t, true);
    }
    steps++;
    missed ||= isMissed;
    // fire_once folds everything due after a missed occurrence, late ones included, into one run: the latest.
    if (isMissed || (missed && p.catchUp === 'fire_once')) {
      held.push(t);
      if (held.length > window) add(held.shift()!, 'SKIPPED', catchUpReason);
    } else onTime.push(t);
  }

  // Held-back missed occurrences all precede the on-time ones.
  let busy = p.busy;
  for (const r of [...held, ...onTime]) {
    if (!busy || p.overlap === 'allow') {
      add(r, 'CREATED', null);
      // A backfill runs in full; overlap is about occurrences meeting one still running from before.
      busy = p.overlap !== 'allow' && !missed;
    } else if (p.overlap === 'skip') {
      add(r, 'SKIPPED', 'the previous occurrence was still running (overlap: skip)');
    } else {
      add(r, 'QUEUED', 'waits for the previous occurrence (overlap: queue)');
    }
  }
  return result(t, false);
}
