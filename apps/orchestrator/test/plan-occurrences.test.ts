import { describe, expect, test } from 'vitest';
import {
  MAX_BACKFILL,
  MISSED_AFTER_MS,
  PLAN_STEPS,
  type PlanInput,
  type PlannedOccurrence,
  planOccurrences,
} from '../src/schedules/plan-occurrences.js';
import { occurrencesBetween, type Schedule } from '../src/schedules/schedule.js';

/**
 * What the scheduler does with a recurring job's due occurrences, as a pure function of the schedule, the job's
 * next_run_at, the (injected) database time, the catch-up and overlap policies and whether an earlier
 * occurrence is still busy.
 */

const at = (iso: string) => new Date(iso);
const EVERY_SECOND: Schedule = { kind: 'cron', expression: '* * * * * *', timezone: 'UTC' };
const EVERY_MINUTE: Schedule = { kind: 'cron', expression: '* * * * *', timezone: 'UTC' };

/** One occurrence as the policies decided it (a skipped run is listed occurrence by occurrence). */
interface Decided {
  scheduledFor: Date;
  status: PlannedOccurrence['status'];
  reason: string | null;
}

/**
 * A plan, with `occurrences` listing every occurrence it decided: the policies' semantics are checked per
 * occurrence, whatever the plan's entries group together (`entries`, where a skipped run is one entry).
 */
function plan(p: Partial<PlanInput> & Pick<PlanInput, 'nextRunAt' | 'now'>) {
  const input = { schedule: EVERY_SECOND, catchUp: 'fire_once', overlap: 'skip', busy: false, ...p } as const;
  const r = planOccurrences(input);
  return { ...r, entries: r.occurrences, occurrences: expand(input.schedule, r.occurrences) };
}
function expand(schedule: Schedule, entries: PlannedOccurrence[]): Decided[] {
  return entries.flatMap((e) => {
    const ts = occurrencesBetween(schedule, e.scheduledFor, e.lastScheduledFor, e.count + 1);
    // An entry's count is exactly the occurrences between its first and last.
    expect(ts.length).toBe(e.count);
    return ts.map((t) => ({ scheduledFor: t, status: e.status, reason: e.reason }));
  });
}
const times = (os: Decided[]) => os.map((o) => o.scheduledFor.toISOString());
const withStatus = (os: Decided[], status: string) => os.filter((o) => o.status === status);
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe('on time', () => {
  test('a due occurrence is created, and the schedule moves to the next one', () => {
    const r = plan({ nextRunAt: at('2025-06-01T12:00:00Z'), now: at('2025-06-01T12:00:00.004Z') });
    expect(r.occurrences).toEqual([
      { scheduledFor: at('2025-06-01T12:00:00Z'), status: 'CREATED', reason: null },
    ]);
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:00:01.000Z');
  });

  test('an interval job the same way, on its anchor grid', () => {
    const schedule: Schedule = {
      kind: 'interval',
      intervalSeconds: 30,
      anchor: at('2025-06-01T11:59:30.250Z'),
    };
    const r = plan({
      schedule,
      nextRunAt: at('2025-06-01T12:00:00.250Z'),
      now: at('2025-06-01T12:00:00.260Z'),
    });
    expect(r.occurrences).toEqual([
      { scheduledFor: at('2025-06-01T12:00:00.250Z'), status: 'CREATED', reason: null },
    ]);
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:00:30.250Z');
  });

  test(`late by up to ${MISSED_AFTER_MS} ms is late, not missed: it runs whatever the catch-up policy`, () => {
    for (const catchUp of ['fire_once', 'fire_all', 'skip'] as const) {
      const r = plan({
        nextRunAt: at('2025-06-01T12:00:00Z'),
        now: new Date(Date.parse('2025-06-01T12:00:00Z') + MISSED_AFTER_MS),
        catchUp,
        overlap: 'allow',
      });
      // 12:00:00 is exactly MISSED_AFTER_MS old: still on time; so are the five after it.
      expect(withStatus(r.occurrences, 'CREATED'), catchUp).toHaveLength(6);
      expect(r.occurrences, catchUp).toHaveLength(6);
    }
    // One millisecond more and the first is missed: `skip` drops it.
    const r = plan({
      nextRunAt: at('2025-06-01T12:00:00Z'),
      now: new Date(Date.parse('2025-06-01T12:00:00Z') + MISSED_AFTER_MS + 1),
      catchUp: 'skip',
      overlap: 'allow',
    });
    expect(times(withStatus(r.occurrences, 'SKIPPED'))).toEqual(['2025-06-01T12:00:00.000Z']);
    expect(withStatus(r.occurrences, 'CREATED')).toHaveLength(5);
  });
});

describe('catch-up after downtime (3 h of an every-minute schedule missed)', () => {
  const nextRunAt = at('2025-06-01T09:00:00Z');
  const now = at('2025-06-01T12:00:30Z');
  const due = 181; // 09:00 … 12:00 inclusive

  test('fire_once: exactly one run, the latest, standing for all; the others are skipped with the reason', () => {
    const r = plan({ schedule: EVERY_MINUTE, nextRunAt, now, catchUp: 'fire_once' });
    expect(r.occurrences).toHaveLength(due);
    expect(withStatus(r.occurrences, 'CREATED')).toEqual([
      { scheduledFor: at('2025-06-01T12:00:00Z'), status: 'CREATED', reason: null },
    ]);
    const skipped = withStatus(r.occurrences, 'SKIPPED');
    expect(skipped).toHaveLength(due - 1);
    expect(new Set(skipped.map((o) => o.reason))).toEqual(
      new Set(['missed while the system was down (catch-up: fire_once)']),
    );
    expect(times(r.occurrences)[0]).toBe('2025-06-01T09:00:00.000Z');
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:01:00.000Z');
  });

  test(`fire_all: the newest ${MAX_BACKFILL} run; older ones are skipped as beyond the backfill bound`, () => {
    const r = plan({ schedule: EVERY_MINUTE, nextRunAt, now, catchUp: 'fire_all' });
    expect(r.occurrences).toHaveLength(due);
    const created = withStatus(r.occurrences, 'CREATED');
    expect(created).toHaveLength(MAX_BACKFILL);
    expect(created.at(-1)!.scheduledFor).toEqual(at('2025-06-01T12:00:00Z'));
    expect(created[0]!.scheduledFor).toEqual(at('2025-06-01T10:21:00Z'));
    const skipped = withStatus(r.occurrences, 'SKIPPED');
    expect(skipped).toHaveLength(due - MAX_BACKFILL);
    expect(skipped.at(-1)!.scheduledFor).toEqual(at('2025-06-01T10:20:00Z'));
    expect(new Set(skipped.map((o) => o.reason))).toEqual(
      new Set([`beyond the backfill bound of ${MAX_BACKFILL} (catch-up: fire_all)`]),
    );
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:01:00.000Z');
  });

  test('fire_all within the bound runs every missed occurrence, even with overlap skip', () => {
    const r = plan({
      nextRunAt: at('2025-06-01T12:00:00Z'),
      now: at('2025-06-01T12:00:12.5Z'),
      catchUp: 'fire_all',
      overlap: 'skip',
    });
    expect(r.occurrences).toHaveLength(13);
    expect(withStatus(r.occurrences, 'CREATED')).toHaveLength(13);
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:00:13.000Z');
  });

  test('skip: nothing missed runs', () => {
    const r = plan({ schedule: EVERY_MINUTE, nextRunAt, now, catchUp: 'skip' });
    expect(r.occurrences).toHaveLength(due);
    expect(withStatus(r.occurrences, 'CREATED')).toEqual([]);
    expect(new Set(r.occurrences.map((o) => o.reason))).toEqual(
      new Set(['missed while the system was down (catch-up: skip)']),
    );
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:01:00.000Z');
  });

  test('skip: occurrences missed long ago are skipped, the ones only just due still run', () => {
    const r = plan({
      nextRunAt: at('2025-06-01T11:59:50Z'),
      now: at('2025-06-01T12:00:03.5Z'),
      catchUp: 'skip',
      overlap: 'allow',
    });
    // Missed: before 11:59:58.5. On time: 11:59:59 … 12:00:03.
    expect(times(withStatus(r.occurrences, 'SKIPPED'))).toEqual(
      Array.from({ length: 9 }, (_, i) => `2025-06-01T11:59:5${i}.000Z`),
    );
    expect(times(withStatus(r.occurrences, 'CREATED'))).toEqual([
      '2025-06-01T11:59:59.000Z',
      '2025-06-01T12:00:00.000Z',
      '2025-06-01T12:00:01.000Z',
      '2025-06-01T12:00:02.000Z',
      '2025-06-01T12:00:03.000Z',
    ]);
  });

  test('a backlog longer than one plan looks at (a day of an every-second schedule) still catches up per policy', () => {
    // An interval (plain arithmetic) rather than a cron, to keep 86,401 occurrences fast.
    const schedule: Schedule = { kind: 'interval', intervalSeconds: 1, anchor: at('2025-06-01T12:00:00Z') };
    const now = at('2025-06-02T12:00:00.5Z');
    // The scheduler plans again while next_run_at is due; the whole backlog, however many plans it takes,
    // gets one catch-up run (fire_once), the newest MAX_BACKFILL (fire_all), or none (skip).
    for (const catchUp of ['fire_once', 'fire_all', 'skip'] as const) {
      let nextRunAt: Date | null = schedule.anchor;
      let totalCreated = 0;
      let last: Decided | undefined;
      const seen = new Set<number>();
      for (let round = 0; nextRunAt && nextRunAt <= now; round++) {
        expect(round, 'the backlog is planned in a bounded number of rounds').toBeLessThan(400);
        const r = plan({ schedule, nextRunAt, now, catchUp, overlap: 'allow' });
        for (const o of r.occurrences) seen.add(o.scheduledFor.getTime());
        last = r.occurrences.at(-1);
        totalCreated += withStatus(r.occurrences, 'CREATED').length;
        nextRunAt = r.nextRunAt;
      }
      expect(seen.size, catchUp).toBe(86_401); // every occurrence recorded once
      expect(iso(nextRunAt), catchUp).toBe('2025-06-02T12:00:01.000Z');
      // The 5 occurrences of the last MISSED_AFTER_MS (11:59:56 … 12:00:00) are late, not missed: they run
      // unless fire_once folds them into its one run.
      expect(totalCreated, catchUp).toBe({ fire_once: 1, fire_all: MAX_BACKFILL + 5, skip: 5 }[catchUp]);
      expect(last, catchUp).toMatchObject({ scheduledFor: at('2025-06-02T12:00:00Z'), status: 'CREATED' });
    }
  });
});

describe('skipped occurrences are counted, not listed (issue 10, defect 8)', () => {
  const nextRunAt = at('2025-06-01T09:00:00Z');
  const now = at('2025-06-01T12:00:30Z');

  test('3 h of an every-minute schedule missed: one entry for the skipped run, whatever the policy', () => {
    const once = plan({ schedule: EVERY_MINUTE, nextRunAt, now, catchUp: 'fire_once' });
    expect(once.entries).toEqual([
      {
        scheduledFor: at('2025-06-01T09:00:00Z'),
        lastScheduledFor: at('2025-06-01T11:59:00Z'),
        count: 180,
        status: 'SKIPPED',
        reason: 'missed while the system was down (catch-up: fire_once)',
      },
      {
        scheduledFor: at('2025-06-01T12:00:00Z'),
        lastScheduledFor: at('2025-06-01T12:00:00Z'),
        count: 1,
        status: 'CREATED',
        reason: null,
      },
    ]);
    const skip = plan({ schedule: EVERY_MINUTE, nextRunAt, now, catchUp: 'skip' });
    expect(skip.entries).toMatchObject([{ status: 'SKIPPED', count: 181 }]);
    const all = plan({ schedule: EVERY_MINUTE, nextRunAt, now, catchUp: 'fire_all' });
    expect(all.entries).toHaveLength(1 + MAX_BACKFILL);
    expect(all.entries[0]).toMatchObject({ status: 'SKIPPED', count: 181 - MAX_BACKFILL });
  });

  test('overlap skips in one plan are one entry too, and a catch-up skip and an overlap skip stay apart', () => {
    const r = plan({
      nextRunAt: at('2025-06-01T12:00:00Z'),
      now: at('2025-06-01T12:00:10Z'),
      catchUp: 'fire_once',
      overlap: 'skip',
      busy: true,
    });
    expect(r.entries.map((e) => [e.status, e.count, e.reason])).toEqual([
      ['SKIPPED', 10, 'missed while the system was down (catch-up: fire_once)'],
      ['SKIPPED', 1, 'the previous occurrence was still running (overlap: skip)'],
    ]);
  });

  test('a skipped run goes on from the previous one only when nothing lies between them and the reason is the same', () => {
    const busy = {
      nextRunAt: at('2025-06-01T12:00:05Z'),
      now: at('2025-06-01T12:00:05.010Z'),
      overlap: 'skip',
      busy: true,
    } as const;
    const reason = 'the previous occurrence was still running (overlap: skip)';
    // The previous row ends at the occurrence just before: the skipped run goes on.
    expect(
      plan({ ...busy, previousSkip: { reason, lastScheduledFor: at('2025-06-01T12:00:04Z') } }),
    ).toMatchObject({ extendsPrevious: true });
    // An occurrence (12:00:04) lies between them, e.g. paused then resumed: a new row.
    expect(
      plan({ ...busy, previousSkip: { reason, lastScheduledFor: at('2025-06-01T12:00:03Z') } }),
    ).toMatchObject({ extendsPrevious: false });
    // Another reason: a new row.
    expect(
      plan({ ...busy, previousSkip: { reason: 'job paused', lastScheduledFor: at('2025-06-01T12:00:04Z') } }),
    ).toMatchObject({ extendsPrevious: false });
    // This plan runs its first occurrence: nothing to go on with.
    expect(
      plan({ ...busy, busy: false, previousSkip: { reason, lastScheduledFor: at('2025-06-01T12:00:04Z') } }),
    ).toMatchObject({ extendsPrevious: false });
  });
});

describe('bounded work per plan (issue 10, defect 8)', () => {
  // 10,000 occurrences of an every-second cron missed, plus a few only just due.
  const nextRunAt = at('2025-06-01T09:00:00Z');
  const now = at('2025-06-01T11:46:43.5Z');
  const due = 10_004; // 09:00:00 … 11:46:43

  /** Plans like the scheduler, one plan per tick, until next_run_at is after now; each plan's entries expanded. */
  function slices(catchUp: PlanInput['catchUp'], slice: Pick<PlanInput, 'budget' | 'sliceMs'> = {}) {
    const decided: Decided[] = [];
    const steps: number[] = [];
    let next: Date | null = nextRunAt;
    let previousSkip: PlanInput['previousSkip'] = null;
    let rows = 0;
    while (next && next <= now) {
      expect(steps.length, 'a bounded number of plans').toBeLessThan(200);
      const r = plan({ nextRunAt: next, now, catchUp, overlap: 'allow', previousSkip, ...slice });
      decided.push(...r.occurrences);
      steps.push(r.steps);
      // Rows written: a plan whose first entry goes on from the previous skipped run writes one row fewer.
      rows += r.entries.length - (r.extendsPrevious ? 1 : 0);
      const last = r.entries.at(-1);
      previousSkip =
        last?.status === 'SKIPPED' ? { reason: last.reason, lastScheduledFor: last.lastScheduledFor } : null;
      expect(r.more).toBe(r.nextRunAt !== null && r.nextRunAt <= now);
      next = r.nextRunAt;
    }
    return { decided, steps, rows, next };
  }

  test.each(['fire_once', 'fire_all', 'skip'] as const)(
    '%s: each plan steps through at most PLAN_STEPS missed occurrences; the slices decide what one plan would',
    (catchUp) => {
      const sliced = slices(catchUp);
      expect(sliced.steps.length).toBeGreaterThanOrEqual(Math.ceil((due - 5) / PLAN_STEPS));
      // The last plan also takes the (at most 6) occurrences that are on time, which are never held back.
      for (const n of sliced.steps) expect(n).toBeLessThanOrEqual(PLAN_STEPS + 6);
      const atOnce = plan({ nextRunAt, now, catchUp, overlap: 'allow', budget: Number.MAX_SAFE_INTEGER });
      expect(atOnce.more).toBe(false);
      expect(atOnce.steps).toBe(due);
      expect(sliced.decided).toEqual(atOnce.occurrences);
      expect(sliced.decided).toHaveLength(due);
      expect(iso(sliced.next)).toBe('2025-06-01T11:46:44.000Z');
      // The skipped run is one row across all the plans (plus the occurrences that run).
      const ran = withStatus(atOnce.occurrences, 'CREATED').length;
      expect(sliced.rows).toBe(1 + ran);
      expect(ran).toBe({ fire_once: 1, fire_all: MAX_BACKFILL + 5, skip: 5 }[catchUp]);
    },
  );

  test.each(['fire_once', 'fire_all', 'skip'] as const)(
    '%s: a plan out of time (sliceMs) stops early, still progressing, with the same decisions',
    (catchUp) => {
      const sliced = slices(catchUp, { sliceMs: 0 });
      // It stops at the first check (every 16 steps) past the minimum: 100 more than it holds back.
      const held = { fire_once: 1, fire_all: MAX_BACKFILL, skip: 0 }[catchUp];
      expect(Math.max(...sliced.steps.slice(0, -1))).toBeLessThanOrEqual(held + 100 + 16);
      const atOnce = plan({ nextRunAt, now, catchUp, overlap: 'allow', budget: Number.MAX_SAFE_INTEGER });
      expect(sliced.decided).toEqual(atOnce.occurrences);
      expect(sliced.rows).toBe(1 + withStatus(atOnce.occurrences, 'CREATED').length);
    },
  );

  test('fire_all runs the newest MAX_BACKFILL missed even when the backlog ends just past a slice', () => {
    // 10,050 missed: slicing must not skip the 50 of them that are among the newest 100 (planning 10,000 at a
    // time and skipping each full slice did, and ran only 50).
    const decided: Decided[] = [];
    let next: Date | null = new Date(Date.parse('2025-06-01T11:46:38Z') - 10_049_000);
    while (next && next <= now) {
      const r = plan({ nextRunAt: next, now, catchUp: 'fire_all', overlap: 'allow' });
      decided.push(...r.occurrences);
      next = r.nextRunAt;
    }
    const missed = decided.filter((o) => o.scheduledFor.getTime() < now.getTime() - MISSED_AFTER_MS);
    expect(missed).toHaveLength(10_050);
    expect(times(withStatus(missed, 'CREATED'))).toEqual(times(missed.slice(-MAX_BACKFILL)));
  });
});

describe('overlap with an earlier occurrence still busy', () => {
  const nextRunAt = at('2025-06-01T12:00:00Z');
  const now = at('2025-06-01T12:00:00.010Z');

  test('skip: recorded as skipped, with the reason', () => {
    const r = plan({ nextRunAt, now, overlap: 'skip', busy: true });
    expect(r.occurrences).toEqual([
      {
        scheduledFor: nextRunAt,
        status: 'SKIPPED',
        reason: 'the previous occurrence was still running (overlap: skip)',
      },
    ]);
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:00:01.000Z');
  });

  test('queue: queued behind it', () => {
    const r = plan({ nextRunAt, now, overlap: 'queue', busy: true });
    expect(r.occurrences).toEqual([
      {
        scheduledFor: nextRunAt,
        status: 'QUEUED',
        reason: 'waits for the previous occurrence (overlap: queue)',
      },
    ]);
    expect(iso(r.nextRunAt)).toBe('2025-06-01T12:00:01.000Z');
  });

  test('allow: runs anyway', () => {
    const r = plan({ nextRunAt, now, overlap: 'allow', busy: true });
    expect(r.occurrences).toEqual([{ scheduledFor: nextRunAt, status: 'CREATED', reason: null }]);
  });

  test('not busy: every policy runs it', () => {
    for (const overlap of ['skip', 'queue', 'allow'] as const) {
      expect(plan({ nextRunAt, now, overlap, busy: false }).occurrences, overlap).toEqual([
        { scheduledFor: nextRunAt, status: 'CREATED', reason: null },
      ]);
    }
  });

  test('two on-time occurrences in one plan: the first one makes the job busy for the second', () => {
    const late = at('2025-06-01T12:00:01.500Z');
    const statuses = (overlap: 'skip' | 'queue' | 'allow') =>
      plan({ nextRunAt, now: late, overlap }).occurrences.map((o) => o.status);
    expect(statuses('skip')).toEqual(['CREATED', 'SKIPPED']);
    expect(statuses('queue')).toEqual(['CREATED', 'QUEUED']);
    expect(statuses('allow')).toEqual(['CREATED', 'CREATED']);
  });

  test('a fire_once catch-up meets a busy job like any occurrence', () => {
    const r = plan({
      nextRunAt,
      now: at('2025-06-01T12:00:10Z'),
      catchUp: 'fire_once',
      overlap: 'skip',
      busy: true,
    });
    expect(withStatus(r.occurrences, 'CREATED')).toEqual([]);
    expect(r.occurrences.at(-1)).toMatchObject({
      scheduledFor: at('2025-06-01T12:00:10Z'),
      reason: 'the previous occurrence was still running (overlap: skip)',
    });
    const queued = plan({ nextRunAt, now: at('2025-06-01T12:00:10Z'), overlap: 'queue', busy: true });
    expect(times(withStatus(queued.occurrences, 'QUEUED'))).toEqual(['2025-06-01T12:00:10.000Z']);
  });
});

describe('the next run', () => {
  test('is always after now, for every policy mix, cron and interval', () => {
    const schedules: Schedule[] = [
      EVERY_SECOND,
      EVERY_MINUTE,
      { kind: 'cron', expression: '*/7 * * * * *', timezone: 'Europe/Berlin' },
      { kind: 'interval', intervalSeconds: 3, anchor: at('2025-06-01T11:00:00.123Z') },
    ];
    const now = at('2025-06-01T12:00:00.5Z');
    for (const schedule of schedules) {
      for (const behind of [0, 400, 2_000, 7_000, 600_000]) {
        for (const catchUp of ['fire_once', 'fire_all', 'skip'] as const) {
          for (const overlap of ['skip', 'queue', 'allow'] as const) {
            for (const busy of [false, true]) {
              const nextRunAt = new Date(now.getTime() - behind);
              const what = JSON.stringify({ schedule, behind, catchUp, overlap, busy });
              // Planned again while more is due, as the scheduler does (600 s of every second is two plans).
              const decided: Decided[] = [];
              let r = plan({ schedule, nextRunAt, now, catchUp, overlap, busy });
              decided.push(...r.occurrences);
              for (let round = 0; r.more; round++) {
                expect(round, what).toBeLessThan(5);
                expect(r.nextRunAt!.getTime(), what).toBeLessThanOrEqual(now.getTime());
                r = plan({ schedule, nextRunAt: r.nextRunAt!, now, catchUp, overlap, busy });
                decided.push(...r.occurrences);
              }
              expect(r.nextRunAt!.getTime(), what).toBeGreaterThan(now.getTime());
              // Nothing planned is in the future, nothing is planned twice, and the order is by time.
              const ts = decided.map((o) => o.scheduledFor.getTime());
              expect(
                ts.every((t) => t <= now.getTime() && t >= nextRunAt.getTime()),
                what,
              ).toBe(true);
              expect(new Set(ts).size, what).toBe(ts.length);
              expect(
                [...ts].sort((a, b) => a - b),
                what,
              ).toEqual(ts);
            }
          }
        }
      }
    }
  });
});
