import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import { msUntilNextOccurrence } from '../queue/materialize-occurrences.js';
import { PLAN_SLICE_MS, PLAN_STEPS } from '../schedules/plan-occurrences.js';
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
export function scheduler(db: Db, lifecycle: JobLifecycle, signal: ReadySignal, log: Logger) {
  return new IntervalLoop(
    'scheduler',
    SCHEDULER_EVERY_MS,
    async () => {
      const { created, more, notRun } = await lifecycle.materializeDueOccurrences({
        jobs: JOBS_PER_TICK,
        steps: STEPS_PER_TICK,
        sliceMs: PLAN_SLICE_MS,
      });
      for (const n of notRun) log.info(n, 'occurrences not run now');
      signal.announce(created.map((d) => d.getTime()));
      // Overlap `queue`: an occurrence that waited for its predecessor starts once that one is done.
      if ((await lifecycle.startQueuedOccurrences(JOBS_PER_TICK)) > 0) signal.announce([Date.now()]);
      if (more) return 0;
      // Still due after this tick means another replica holds that job (SKIP LOCKED passed it by): it is being
      // planned there. Look again shortly rather than at once, which spun this loop while the other worked.
      const ms = await msUntilNextOccurrence(db);
      return ms !== undefined && ms <= 0 ? HELD_ELSEWHERE_RETRY_MS : ms;
    },
    log,
  );
}
