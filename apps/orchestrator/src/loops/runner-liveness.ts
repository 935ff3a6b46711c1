import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { markSilentRunnersOffline } from '../queue/mark-silent-runners-offline.js';
import { IntervalLoop } from './interval-loop.js';

/** A runner silent for 3 heartbeat intervals is OFFLINE (its leases expire on their own and are reaped). */
export function runnerLiveness(
  db: Db,
  heartbeatIntervalMs: number,
  log: Logger,
  eventsWritten: () => void = () => {},
) {
  return new IntervalLoop(
    'runner-liveness',
    heartbeatIntervalMs,
    async () => {
      const offline = await markSilentRunnersOffline(db, 3 * heartbeatIntervalMs);
      if (offline.length > 0) {
        log.warn({ runners: offline }, 'runners missed 3 heartbeats: OFFLINE');
        eventsWritten();
      }
    },
    log,
  );
}
