import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { decodeJobsChanged, JOBS_CHANNEL, notifyJobsChanged } from '../queue/notify-jobs-changed.js';
import type { ListenConnection } from './listen-connection.js';
import { NotifyBatcher } from './notify-batcher.js';

/**
 * Lets a request wait until a job changes state (`GET /jobs/{id}?wait=30`), wherever the change happened:
 * - changes recorded by this replica (`changed`) wake its waiters at once and are NOTIFYed to the others,
 *   batched: one statement per burst, one in flight at a time;
 * - changes elsewhere arrive on the LISTEN connection;
 * - the lease reaper and deregistration call `changed` too (a dead letter, the dependents it cancels);
 * - anything not announced (a LISTEN reconnect, a change no code path reports) is caught by each waiter
 *   re-checking on a safety-net interval.
 */
export class JobWaiters {
  private readonly id = randomUUID();
  /** Every waitFor in progress, by job (see waitFor). */
  private readonly watching = new Map<number, Set<Watch>>();
  private readonly notifier: NotifyBatcher<number>;
  private closed = false;

  constructor(
    db: Db,
    listen: ListenConnection,
    log: Logger,
    private readonly safetyNetMs = 1_000,
  ) {
    // The same job changed twice in one burst is one id.
    this.notifier = new NotifyBatcher(
      (ids) => notifyJobsChanged(db, this.id, [...new Set(ids)]),
      log,
      'job changes',
    );
    listen.subscribe(JOBS_CHANNEL, (payload) => {
      const { sender, jobIds } = decodeJobsChanged(payload);
      if (sender !== this.id) this.wakeLocal(jobIds);
    });
  }

  /** Jobs whose state this replica just changed (after commit). */
  changed(jobIds: number[]): void {
    if (jobIds.length === 0) return;
    this.wakeLocal(jobIds);
    this.notifier.add(jobIds);
  }

  /**
   * Calls `check` now and after every change of job `jobId` (or safety-net tick) until it answers something, the
   * time is up, or `signal` aborts; answers what `check` answered, or undefined.
   */
  async waitFor<T>(
    jobId: number,
    check: () => Promise<T | undefined>,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<T | undefined> {
    const deadline = Date.now() + waitMs;
    // Watched from before the first read: a change announced while `check` reads the job (after its read, before
    // the wait below begins) is not lost, it makes the loop read again at once instead of sleeping until the safety
    // net.
    const watch: Watch = { changed: false, wake: undefined };
    const watching = this.watching.get(jobId) ?? new Set();
    this.watching.set(jobId, watching);
    watching.add(watch);
    try {
      for (;;) {
        watch.changed = false;
        const value = await check();
        const left = deadline - Date.now();
        if (value !== undefined || left <= 0 || signal.aborted || this.closed) return value;
        if (!watch.changed) await nextChange(watch, Math.min(left, this.safetyNetMs), signal);
      }
    } finally {
      watching.delete(watch);
      if (watching.size === 0) this.watching.delete(jobId);
    }
  }

  /** Ends every wait (each answers with the job as it is): the replica is shutting down. */
  close(): void {
    this.closed = true;
    for (const set of [...this.watching.values()]) for (const watch of [...set]) watch.wake?.();
  }

  private wakeLocal(jobIds: number[]): void {
    if (this.watching.size === 0) return;
    for (const id of jobIds) {
      for (const watch of [...(this.watching.get(id) ?? [])]) {
        watch.changed = true;
        watch.wake?.();
      }
    }
  }
}

/** A waitFor in progress: marked when its job changes, and woken if it is waiting (see JobWaiters.waitFor). */
interface Watch {
  changed: boolean;
  /** Set while the waitFor sleeps in nextChange. */
  wake: (() => void) | undefined;
}

/** Sleeps until `watch` is woken, `ms` pass, or `signal` aborts. */
function nextChange(watch: Watch, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      watch.wake = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    watch.wake = done;
  });
}
