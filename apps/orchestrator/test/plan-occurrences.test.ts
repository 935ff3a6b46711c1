import { describe, expect, test } from 'vitest';
import {
  MAX_BACKFILL,
  MISSED_AFTER_MS,
  type PlanInput,
  type PlannedOccurrence,
  planOccurrences,
} from '../src/schedules/plan-occurrences.js';
import type { Schedule } from '../src/schedules/schedule.js';

/**
 * What the scheduler does with a recurring job's due occurrences, as a pure function of the schedule, the job's
 * next_run_at, the (injected) database time, the catch-up and overlap policies and whether an earlier
 * occurrence is still busy.
 */

const at = (iso: string) => new Date(iso);
const EVERY_SECOND: Schedule = { kind: 'cron', expression: '* * * * * *', timezone: 'UTC' };
const EVERY_MINUTE: Schedule = { kind: 'cron', expression: '* * * * *', timezone: 'UTC' };

function plan(p: Partial<PlanInput> & Pick<PlanInput, 'nextRunAt' | 'now'>) {
  return planOccurrences({
    schedule: EVERY_SECOND,
    catchUp: 'fire_once',
    overlap: 'skip',
    busy: false,
    ...p,
  });
}
const times = (os: PlannedOccurrence[]) => os.map((o) => o.scheduledFor.toISOString());
const withStatus = (os: PlannedOccurrence[], status: string) => os.filter((o) => o.status === status);
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
      let last: PlannedOccurrence | undefined;
      const seen = new Set<number>();
      for (let round = 0; nextRunAt && nextRunAt <= now; round++) {
        expect(round, 'the backlog is planned in a bounded number of rounds').toBeLessThan(20);
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
              const r = plan({ schedule, nextRunAt, now, catchUp, overlap, busy });
              const what = JSON.stringify({ schedule, behind, catchUp, overlap, busy });
              expect(r.nextRunAt!.getTime(), what).toBeGreaterThan(now.getTime());
              // Nothing planned is in the future, nothing is planned twice, and the order is by time.
              const ts = r.occurrences.map((o) => o.scheduledFor.getTime());
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
