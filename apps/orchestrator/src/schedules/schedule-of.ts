import { DEFAULT_TIMEZONE, type Schedule } from './schedule.js';

/** The schedule stored on a recurring job's row (an interval is anchored at the job's first run time). */
export function scheduleOf(row: {
  kind: string;
  schedule_expression: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  run_at: Date;
}): Schedule {
  if (row.kind === 'cron') {
    return { kind: 'cron', expression: row.schedule_expression!, timezone: row.timezone ?? DEFAULT_TIMEZONE };
  }
  if (row.kind === 'interval')
    return { kind: 'interval', intervalSeconds: row.interval_seconds!, anchor: row.run_at };
  throw new Error(`job kind ${row.kind} has no schedule`);
}
