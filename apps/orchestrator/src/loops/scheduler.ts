import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import {
  jobsWithRunnableQueue,
  lockDueRecurringJobs,
  msUntilNextOccurrence,
  recordOccurrences,
  startQueuedOccurrence,
} from '../queue/materialize-occurrences.js';
import { planOccurrences } from '../schedules/plan-occurrences.js';
import { scheduleOf } from '../schedules/schedule-of.js';
import type { ReadySignal } from '../services/ready-signal.js';
import { IntervalLoop } from './interval-loop.js';

const BATCH = 100;
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
 * schedulers run. Time is the database's now().
 */
export function scheduler(db: Db, signal: ReadySignal, log: Logger) {
  return new IntervalLoop(
    'scheduler',
    SCHEDULER_EVERY_MS,
    async () => {
      for (;;) {
        const { jobs, created } = await db.transaction().execute(async (trx) => {
          const jobs = await lockDueRecurringJobs(trx, BATCH);
          const created: Date[] = [];
          for (const job of jobs) {
            const plan = planOccurrences({
              schedule: scheduleOf(job),
              nextRunAt: job.next_run_at,
              now: job.now,
              catchUp: job.catch_up_policy,
              overlap: job.overlap_policy,
              busy: job.busy,
            });
            created.push(...(await recordOccurrences(trx, job, plan.occurrences, plan.nextRunAt)));
            const skipped = plan.occurrences.filter((o) => o.status !== 'CREATED');
            if (skipped.length > 0) {
              log.info(
                { jobId: job.id, skipped: skipped.length, reason: skipped[0]!.reason },
                'occurrences not run now',
              );
            }
          }
          return { jobs, created };
        });
        signal.announce(created.map((d) => d.getTime()));
        if (jobs.length < BATCH) break;
      }
      // Overlap `queue`: an occurrence that waited for its predecessor starts once that one is done.
      for (const jobId of await jobsWithRunnableQueue(db, BATCH)) {
        if (await db.transaction().execute((trx) => startQueuedOccurrence(trx, jobId)))
          signal.announce([Date.now()]);
      }
      // Still due after this tick means another replica holds that job (SKIP LOCKED passed it by): it is being
      // planned there. Look again shortly rather than at once, which spun this loop while the other worked.
      const ms = await msUntilNextOccurrence(db);
      return ms !== undefined && ms <= 0 ? HELD_ELSEWHERE_RETRY_MS : ms;
    },
    log,
  );
}
