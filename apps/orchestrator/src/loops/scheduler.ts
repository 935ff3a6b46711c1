import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import {
  jobsWithRunnableQueue,
  lockDueRecurringJobs,
  msUntilNextOccurrence,
  recordOccurrences,
  startQueuedOccurrence,
} from '../queue/materialize-occurrences.js';
import { PLAN_SLICE_MS, PLAN_STEPS, planOccurrences } from '../schedules/plan-occurrences.js';
import { scheduleOf } from '../schedules/schedule-of.js';
import type { ReadySignal } from '../services/ready-signal.js';
import { IntervalLoop } from './interval-loop.js';

/** Due recurring jobs one tick takes at most. */
const JOBS_PER_TICK = 100;
/**
 * Occurrences one tick steps through, all its jobs together: a tick starts no new job's plan past this. With
 * PLAN_STEPS and PLAN_SLICE_MS per job, a tick is a few short synchronous steps (the event loop runs between
 * them, while each job's rows are written) in a transaction of bounded length; a longer backlog takes more ticks.
 */
const STEPS_PER_TICK = 4 * PLAN_STEPS;
/**
 * Occurrences are created when due: after each tick the loop sleeps until the earliest next_run_at (so an
 * occurrence starts within milliseconds of its time), and at most this long, to notice jobs other replicas
 * created or changed.
 */
export const SCHEDULER_EVERY_MS = 250;
const HELD_ELSEWHERE_RETRY_MS = 50;

/**
 * Materialises occurrences of recurring jobs. Runs in every replica: the jobs are taken with SKIP LOCKED and
 * each occurrence is a row with a unique (job_id, scheduled_for), so an occurrence exists once however many
 * schedulers run. Time is the database's now(). Work per tick is bounded (JOBS_PER_TICK; PLAN_STEPS and
 * PLAN_SLICE_MS per job; STEPS_PER_TICK in all); when a tick leaves due work behind, the next one follows at
 * once, after a turn of the event loop (a timer of 0 ms), so heartbeats and claims are answered between them.
 */
export function scheduler(db: Db, signal: ReadySignal, log: Logger) {
  return new IntervalLoop(
    'scheduler',
    SCHEDULER_EVERY_MS,
    async () => {
      const { created, more } = await db.transaction().execute(async (trx) => {
        const jobs = await lockDueRecurringJobs(trx, JOBS_PER_TICK);
        const created: Date[] = [];
        let steps = 0;
        // A full batch may have more due jobs behind it.
        let more = jobs.length === JOBS_PER_TICK;
        for (const job of jobs) {
          if (steps >= STEPS_PER_TICK) {
            // The rest of the batch is left for the next tick (its locks go with this transaction).
            more = true;
            break;
          }
          const plan = planOccurrences({
            schedule: scheduleOf(job),
            nextRunAt: job.next_run_at,
            now: job.now,
            catchUp: job.catch_up_policy,
            overlap: job.overlap_policy,
            busy: job.busy,
            previousSkip: job.skipped_until
              ? { reason: job.skipped_reason, lastScheduledFor: job.skipped_until }
              : null,
            sliceMs: PLAN_SLICE_MS,
          });
          steps += plan.steps;
          more ||= plan.more;
          const extendSkippedAt = plan.extendsPrevious ? job.skipped_from : null;
          created.push(
            ...(await recordOccurrences(trx, job, plan.occurrences, plan.nextRunAt, extendSkippedAt)),
          );
          const notRun = plan.occurrences.filter((o) => o.status !== 'CREATED');
          if (notRun.length > 0) {
            log.info(
              { jobId: job.id, skipped: notRun.reduce((n, o) => n + o.count, 0), reason: notRun[0]!.reason },
              'occurrences not run now',
            );
          }
        }
        return { created, more };
      });
      signal.announce(created.map((d) => d.getTime()));
      // Overlap `queue`: an occurrence that waited for its predecessor starts once that one is done.
      for (const jobId of await jobsWithRunnableQueue(db, JOBS_PER_TICK)) {
        if (await db.transaction().execute((trx) => startQueuedOccurrence(trx, jobId)))
          signal.announce([Date.now()]);
      }
      if (more) return 0;
      // Still due after this tick means another replica holds that job (SKIP LOCKED passed it by): it is being
      // planned there. Look again shortly rather than at once, which spun this loop while the other worked.
      const ms = await msUntilNextOccurrence(db);
      return ms !== undefined && ms <= 0 ? HELD_ELSEWHERE_RETRY_MS : ms;
    },
    log,
  );
}
