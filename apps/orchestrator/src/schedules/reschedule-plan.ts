import type { PatchJobBody } from '@hourglass/contracts';
import { badRequest } from '../errors.js';
import type { ScheduleChange } from '../queue/pause-resume-job.js';
import type { JobRow } from '../queue/rows.js';
import { cronProblem, DEFAULT_TIMEZONE, nextOccurrence, type Schedule } from './schedule.js';

/**
 * A recurring job's new schedule from a PATCH: the fields given replace the job's, the rest are kept, and the next
 * occurrence is recomputed from `now` (the database's). A new interval counts from now: its first occurrence is
 * one interval away. A paused job keeps no next occurrence; resuming computes it.
 */
export function planReschedule(job: JobRow, patch: PatchJobBody, now: Date): ScheduleChange {
  const kind = patch.scheduleExpression ? 'cron' : patch.intervalSeconds ? 'interval' : job.kind;
  if (kind === 'once') throw badRequest('scheduleExpression', 'the job is not recurring');
  const expression = kind === 'cron' ? (patch.scheduleExpression ?? job.schedule_expression) : null;
  const timezone = kind === 'cron' ? (patch.timezone ?? job.timezone ?? DEFAULT_TIMEZONE) : null;
  if (patch.timezone !== undefined && kind !== 'cron') {
    throw badRequest('timezone', 'only applies to a scheduleExpression');
  }
  const interval = kind === 'interval' ? (patch.intervalSeconds ?? job.interval_seconds) : null;
  if (kind === 'cron') {
    const problem = cronProblem(expression!, timezone!);
    if (problem) throw badRequest(problem.field, problem.message);
  }
  const schedule: Schedule =
    kind === 'cron'
      ? { kind, expression: expression!, timezone: timezone! }
      : { kind: 'interval', intervalSeconds: interval!, anchor: new Date(now.getTime() + interval! * 1000) };
  const next = nextOccurrence(schedule, new Date(now.getTime() - 1));
  return {
    kind,
    schedule_expression: expression,
    timezone,
    interval_seconds: interval,
    overlap_policy: patch.overlapPolicy ?? job.overlap_policy,
    catch_up_policy: patch.catchUpPolicy ?? job.catch_up_policy,
    run_at: schedule.kind === 'interval' ? schedule.anchor : (next ?? now),
    next_run_at: job.status === 'PAUSED' ? null : next,
  };
}
