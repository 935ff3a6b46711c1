import { describe, expect, test } from 'vitest';
import {
  cronProblem,
  isTimeZone,
  nextOccurrence,
  occurrencesBetween,
  type Schedule,
} from '../src/schedules/schedule.js';

/**
 * Next-run computation of cron and interval schedules, with the time injected (no sleeping, no database).
 * Cron is croner's reading of the expression in an IANA time zone; intervals are plain arithmetic from an anchor.
 */

const at = (iso: string) => new Date(iso);
const cron = (expression: string, timezone = 'UTC'): Schedule => ({ kind: 'cron', expression, timezone });
const every = (intervalSeconds: number, anchor: string): Schedule => ({
  kind: 'interval',
  intervalSeconds,
  anchor: at(anchor),
});
const iso = (d: Date | null) => d?.toISOString() ?? null;
const isos = (ds: Date[]) => ds.map((d) => d.toISOString());
/** Wall-clock time of `d` in `timeZone`, as 'YYYY-MM-DD HH:MM:SS'. */
const local = (d: Date, timeZone: string) => d.toLocaleString('sv-SE', { timeZone });
const HOUR = 3_600_000;

describe('cron next run', () => {
  test('a 5-field expression is minutes-first and fires on second 0', () => {
    expect(iso(nextOccurrence(cron('*/5 * * * *'), at('2025-06-01T12:03:27.500Z')))).toBe(
      '2025-06-01T12:05:00.000Z',
    );
    expect(iso(nextOccurrence(cron('0 9 * * *'), at('2025-06-01T12:00:00Z')))).toBe(
      '2025-06-02T09:00:00.000Z',
    );
    expect(iso(nextOccurrence(cron('0 0 1 * *'), at('2025-12-15T00:00:00Z')))).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    // Monday to Friday at 08:30: from Friday evening, the next is Monday.
    expect(iso(nextOccurrence(cron('30 8 * * 1-5'), at('2025-06-06T18:00:00Z')))).toBe(
      '2025-06-09T08:30:00.000Z',
    );
  });

  test('a 6-field expression has seconds first', () => {
    expect(iso(nextOccurrence(cron('*/15 * * * * *'), at('2025-06-01T12:00:07Z')))).toBe(
      '2025-06-01T12:00:15.000Z',
    );
    expect(iso(nextOccurrence(cron('* * * * * *'), at('2025-06-01T12:00:07.250Z')))).toBe(
      '2025-06-01T12:00:08.000Z',
    );
    expect(iso(nextOccurrence(cron('30 0 9 * * *'), at('2025-06-01T09:00:31Z')))).toBe(
      '2025-06-02T09:00:30.000Z',
    );
  });

  test('the next run is strictly after the given time, even when that time is an occurrence', () => {
    expect(iso(nextOccurrence(cron('*/5 * * * *'), at('2025-06-01T12:05:00Z')))).toBe(
      '2025-06-01T12:10:00.000Z',
    );
    expect(iso(nextOccurrence(cron('* * * * * *'), at('2025-06-01T12:00:08Z')))).toBe(
      '2025-06-01T12:00:09.000Z',
    );
  });

  test('the expression is read in its time zone', () => {
    const after = at('2025-06-01T00:00:00Z');
    expect(iso(nextOccurrence(cron('0 9 * * *', 'UTC'), after))).toBe('2025-06-01T09:00:00.000Z');
    expect(iso(nextOccurrence(cron('0 9 * * *', 'Europe/Berlin'), after))).toBe('2025-06-01T07:00:00.000Z'); // CEST
    expect(iso(nextOccurrence(cron('0 9 * * *', 'America/New_York'), after))).toBe(
      '2025-06-01T13:00:00.000Z',
    ); // EDT
    expect(iso(nextOccurrence(cron('0 9 * * *', 'Asia/Kolkata'), after))).toBe('2025-06-01T03:30:00.000Z');
  });
});

/**
 * Daylight-saving changes. 2025: Europe/Berlin springs forward on 30 March (02:00 CET → 03:00 CEST) and falls
 * back on 26 October (03:00 CEST → 02:00 CET); America/New_York springs forward on 9 March (02:00 EST → 03:00
 * EDT) and falls back on 2 November (02:00 EDT → 01:00 EST).
 */
describe('cron across DST changes', () => {
  const days = (zone: string, expression: string, from: string, to: string) =>
    occurrencesBetween(cron(expression, zone), at(from), at(to), 100);

  test.each([
    // zone, window, the daily 09:00 before (UTC hour) and after the change
    ['Europe/Berlin', 'spring', '2025-03-28T00:00:00Z', '2025-04-02T00:00:00Z', 8, 7],
    ['Europe/Berlin', 'autumn', '2025-10-24T00:00:00Z', '2025-10-29T00:00:00Z', 7, 8],
    ['America/New_York', 'spring', '2025-03-07T00:00:00Z', '2025-03-12T00:00:00Z', 14, 13],
    ['America/New_York', 'autumn', '2025-10-31T00:00:00Z', '2025-11-05T00:00:00Z', 13, 14],
  ])(
    '`0 9 * * *` in %s (%s change): 09:00 local every day, once, the UTC time moves by an hour',
    (zone, _season, from, to, before, after) => {
      const runs = days(zone, '0 9 * * *', from, to);
      expect(runs).toHaveLength(5);
      for (const r of runs) expect(local(r, zone).slice(11)).toBe('09:00:00');
      // One per calendar day, none doubled, none missing.
      expect(new Set(runs.map((r) => local(r, zone).slice(0, 10))).size).toBe(5);
      expect(runs.slice(0, 2).map((r) => r.getUTCHours())).toEqual([before, before]);
      expect(runs.slice(3).map((r) => r.getUTCHours())).toEqual([after, after]);
      // The day of the change is 23 or 25 hours long, so the gap around it is not 24 h.
      const gaps = runs.slice(1).map((r, i) => (r.getTime() - runs[i]!.getTime()) / HOUR);
      expect(gaps).toEqual(before > after ? [24, 23, 24, 24] : [24, 25, 24, 24]);
    },
  );

  test.each([
    ['Europe/Berlin', '2025-03-28T00:00:00Z', '2025-04-01T00:00:00Z', '2025-03-30T01:00:00.000Z'],
    ['America/New_York', '2025-03-07T00:00:00Z', '2025-03-11T00:00:00Z', '2025-03-09T07:00:00.000Z'],
  ])(
    'spring forward in %s: `30 2 * * *` (02:30 does not exist that night) runs once, at 03:00 local',
    (zone, from, to, onTheDay) => {
      const runs = days(zone, '30 2 * * *', from, to);
      const locals = runs.map((r) => local(r, zone));
      // croner moves a wall time that falls in the gap to the first valid instant after it (03:00), rather than
      // skipping the day or running at 03:30.
      expect(locals.map((l) => l.slice(0, 10))).toHaveLength(4);
      expect(new Set(locals.map((l) => l.slice(0, 10))).size).toBe(4);
      const changeDay = runs.find((r) => r.toISOString() === onTheDay);
      expect(changeDay, `one run on the day of the change: ${locals.join(', ')}`).toBeDefined();
      expect(local(changeDay!, zone).slice(11)).toBe('03:00:00');
      for (const l of locals.filter((x) => x !== local(changeDay!, zone)))
        expect(l.slice(11)).toBe('02:30:00');
    },
  );

  test.each([
    // The hour that happens twice: 02:00–03:00 in Berlin, 01:00–02:00 in New York.
    [
      'Europe/Berlin',
      '30 2 * * *',
      '2025-10-24T00:00:00Z',
      '2025-10-28T00:00:00Z',
      '2025-10-26T00:30:00.000Z',
    ],
    [
      'America/New_York',
      '30 1 * * *',
      '2025-10-31T00:00:00Z',
      '2025-11-04T00:00:00Z',
      '2025-11-02T05:30:00.000Z',
    ],
  ])(
    'fall back in %s: `%s` (that wall time happens twice) runs once that day, at its first instance',
    (zone, expression, from, to, onTheDay) => {
      const runs = days(zone, expression, from, to);
      const locals = runs.map((r) => local(r, zone));
      expect(runs).toHaveLength(4);
      expect(new Set(locals.map((l) => l.slice(0, 10))).size).toBe(4);
      for (const l of locals)
        expect(l.slice(11)).toBe(expression.startsWith('30 2') ? '02:30:00' : '01:30:00');
      // croner picks the first instance (still summer time) and does not fire again an hour later.
      expect(isos(runs)).toContain(onTheDay);
      expect(isos(runs)).not.toContain(new Date(Date.parse(onTheDay) + HOUR).toISOString());
    },
  );

  test('an every-30-minutes cron stays exactly 30 minutes apart in UTC through both changes', () => {
    for (const [zone, from, to] of [
      ['Europe/Berlin', '2025-03-29T12:00:00Z', '2025-03-31T12:00:00Z'],
      ['Europe/Berlin', '2025-10-25T12:00:00Z', '2025-10-27T12:00:00Z'],
      ['America/New_York', '2025-03-08T12:00:00Z', '2025-03-10T12:00:00Z'],
      ['America/New_York', '2025-11-01T12:00:00Z', '2025-11-03T12:00:00Z'],
    ] as const) {
      const runs = days(zone, '*/30 * * * *', from, to);
      expect(runs).toHaveLength(97); // 48 h at both ends inclusive
      const gaps = new Set(runs.slice(1).map((r, i) => r.getTime() - runs[i]!.getTime()));
      expect([...gaps], zone).toEqual([30 * 60_000]);
    }
  });
});

describe('interval next run', () => {
  const s = every(10, '2025-06-01T12:00:00Z');

  test('before the anchor, the next run is the anchor itself', () => {
    expect(iso(nextOccurrence(s, at('2025-06-01T11:00:00Z')))).toBe('2025-06-01T12:00:00.000Z');
    expect(iso(nextOccurrence(s, at('2025-06-01T11:59:59.999Z')))).toBe('2025-06-01T12:00:00.000Z');
  });

  test('from the anchor on, runs fall at anchor + k × interval, strictly after the given time', () => {
    expect(iso(nextOccurrence(s, at('2025-06-01T12:00:00Z')))).toBe('2025-06-01T12:00:10.000Z');
    expect(iso(nextOccurrence(s, at('2025-06-01T12:00:09.999Z')))).toBe('2025-06-01T12:00:10.000Z');
    expect(iso(nextOccurrence(s, at('2025-06-01T12:00:10Z')))).toBe('2025-06-01T12:00:20.000Z');
    expect(iso(nextOccurrence(s, at('2025-06-01T12:00:25Z')))).toBe('2025-06-01T12:00:30.000Z');
    // A day later the grid has not drifted.
    expect(iso(nextOccurrence(s, at('2025-06-02T12:00:00.001Z')))).toBe('2025-06-02T12:00:10.000Z');
  });

  test('the anchor keeps its milliseconds, and the interval is in seconds of real time (DST does not matter)', () => {
    const odd = every(3_600, '2025-03-30T00:15:00.123Z');
    const runs = occurrencesBetween(odd, at('2025-03-30T00:00:00Z'), at('2025-03-30T04:00:00Z'), 10);
    expect(isos(runs)).toEqual([
      '2025-03-30T00:15:00.123Z',
      '2025-03-30T01:15:00.123Z',
      '2025-03-30T02:15:00.123Z',
      '2025-03-30T03:15:00.123Z',
    ]);
  });
});

describe('occurrencesBetween', () => {
  test('both bounds are inclusive, in order', () => {
    expect(
      isos(
        occurrencesBetween(cron('* * * * * *'), at('2025-06-01T12:00:00Z'), at('2025-06-01T12:00:03Z'), 100),
      ),
    ).toEqual([
      '2025-06-01T12:00:00.000Z',
      '2025-06-01T12:00:01.000Z',
      '2025-06-01T12:00:02.000Z',
      '2025-06-01T12:00:03.000Z',
    ]);
    const s = every(5, '2025-06-01T12:00:00Z');
    expect(isos(occurrencesBetween(s, at('2025-06-01T12:00:05Z'), at('2025-06-01T12:00:15Z'), 100))).toEqual([
      '2025-06-01T12:00:05.000Z',
      '2025-06-01T12:00:10.000Z',
      '2025-06-01T12:00:15.000Z',
    ]);
  });

  test('bounds between occurrences take only what lies inside', () => {
    expect(
      isos(
        occurrencesBetween(
          cron('* * * * * *'),
          at('2025-06-01T12:00:00.001Z'),
          at('2025-06-01T12:00:02.999Z'),
          100,
        ),
      ),
    ).toEqual(['2025-06-01T12:00:01.000Z', '2025-06-01T12:00:02.000Z']);
    // An interval window before its anchor starts at the anchor.
    const s = every(5, '2025-06-01T12:00:00Z');
    expect(isos(occurrencesBetween(s, at('2025-06-01T11:00:00Z'), at('2025-06-01T12:00:06Z'), 100))).toEqual([
      '2025-06-01T12:00:00.000Z',
      '2025-06-01T12:00:05.000Z',
    ]);
  });

  test('an empty window (nothing inside, or to before from) gives nothing', () => {
    expect(
      occurrencesBetween(cron('0 9 * * *'), at('2025-06-01T10:00:00Z'), at('2025-06-01T11:00:00Z'), 100),
    ).toEqual([]);
    expect(
      occurrencesBetween(cron('* * * * * *'), at('2025-06-01T12:00:05Z'), at('2025-06-01T12:00:00Z'), 100),
    ).toEqual([]);
  });

  test('at most `limit`, the oldest kept', () => {
    const runs = occurrencesBetween(
      cron('* * * * *'),
      at('2025-06-01T00:00:00Z'),
      at('2025-06-01T03:00:00Z'),
      3,
    );
    expect(isos(runs)).toEqual([
      '2025-06-01T00:00:00.000Z',
      '2025-06-01T00:01:00.000Z',
      '2025-06-01T00:02:00.000Z',
    ]);
  });
});

describe('cronProblem', () => {
  test.each([
    ['61 * * * *', /minute/i],
    ['60 * * * * *', /second/i],
    ['0 25 * * *', /hour/i],
    ['0 0 32 * *', /day/i],
    ['0 0 1 13 *', /month/i],
    ['* * * *', /5 or 6 fields.*got 4/],
    ['* * * * * * *', /5 or 6 fields.*got 7/],
    ['garbage', /5 or 6 fields.*got 1/],
    ['a b c d e', /illegal/i],
    ['*/0 * * * *', /step/i],
    // Valid syntax that never happens.
    ['0 0 30 2 *', /never/],
  ])('`%s` is refused, naming scheduleExpression', (expression, message) => {
    const problem = cronProblem(expression, 'UTC');
    expect(problem).toMatchObject({ field: 'scheduleExpression' });
    expect(problem!.message).toMatch(message);
  });

  test.each(['Mars/Olympus', 'Europe/Berlinn', 'UTC+2', ''])(
    'time zone %j is refused, naming timezone',
    (zone) => {
      expect(isTimeZone(zone)).toBe(false);
      expect(cronProblem('0 9 * * *', zone)).toEqual({
        field: 'timezone',
        message: `unknown IANA time zone '${zone}'`,
      });
    },
  );

  test.each([
    ['* * * * *', 'UTC'],
    ['*/10 * * * * *', 'UTC'],
    ['0 9 * * 1-5', 'Europe/Berlin'],
    ['0 0 29 2 *', 'America/New_York'], // leap days only, but it does fire
    ['0 30 8 * * MON', 'Asia/Kolkata'],
  ])('`%s` in %s is accepted', (expression, zone) => {
    expect(isTimeZone(zone)).toBe(true);
    expect(cronProblem(expression, zone)).toBeUndefined();
  });
});
