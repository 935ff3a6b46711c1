import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { promoteDueExecutions } from '../queue/promote-due-executions.js';
import { PROMOTE_EVERY_MS } from '../queue/timing.js';
import type { ReadySignal } from '../services/ready-signal.js';
import { IntervalLoop } from './interval-loop.js';

const BATCH = 5_000;

/** Makes executions scheduled for later claimable shortly before they are due, and schedules the wake-ups. */
export function promoter(db: Db, signal: ReadySignal, log: Logger) {
  return new IntervalLoop(
    'promoter',
    PROMOTE_EVERY_MS,
    async () => {
      for (;;) {
        const due = await promoteDueExecutions(db, BATCH);
        signal.announce(due.map((d) => d.getTime()));
        if (due.length < BATCH) return;
      }
    },
    log,
  );
}
