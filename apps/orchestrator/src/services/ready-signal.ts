import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { decodeNotification, notifyReady } from '../queue/notify-ready.js';
import { upcomingReadyTimes } from '../queue/promote-due-executions.js';
import { READY_CHANNEL } from '../queue/timing.js';
import type { DbClock } from './db-clock.js';
import type { ListenConnection } from './listen-connection.js';
import { NotifyBatcher } from './notify-batcher.js';

/**
 * Timers fire this long after a due time. Due times are whole ms (PostgreSQL keeps µs) and the database clock
 * offset is an estimate, so a timer set exactly at the due time can fire just before the row is due; the claim
 * then finds nothing and the waiter slept on until the safety net (a second by default) instead of the due time.
 */
const WAKE_SLACK_MS = 5;

/**
 * Wakes this replica's waiting claimers when executions become claimable, wherever that happened:
 * - work created or retried here: `announce` wakes local waiters at once (no round trip) and NOTIFYs the rest;
 * - work made claimable by another replica: its NOTIFY arrives on our LISTEN connection;
 * - work that becomes due later: every notification carries due times, and a timer fires at each;
 * - anything missed (a LISTEN reconnect, a payload cut short): a periodic safety-net wake-up.
 */
export class ReadySignal {
  /** Names this replica in its notifications, so it can skip its own (it woke its waiters already). */
  private readonly id = randomUUID();
  private listeners = new Set<() => void>();
  private timers = new Map<number, NodeJS.Timeout>();
  private readonly notifier: NotifyBatcher<number>;
  private safetyNet: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    listen: ListenConnection,
    private readonly clock: DbClock,
    private readonly log: Logger,
    private readonly safetyNetMs = 1_000,
  ) {
    this.notifier = new NotifyBatcher((times) => notifyReady(this.db, this.id, times), log, 'ready work');
    listen.subscribe(READY_CHANNEL, (payload) => {
      const { sender, dueTimesMs } = decodeNotification(payload);
      if (sender !== this.id) this.schedule(dueTimesMs);
    });
    // Whatever became ready while we were not listening: wake now, and at the due times of the rest.
    listen.onConnected(() => {
      upcomingReadyTimes(this.db).then(
        (times) => {
          this.schedule(times.map((d) => d.getTime()));
          this.wake();
        },
        (err) => this.log.warn({ err }, 'cannot read upcoming due times; the safety net will wake claimers'),
      );
    });
  }

  onWake(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.safetyNet = setInterval(() => this.wake(), this.safetyNetMs);
    this.safetyNet.unref();
  }

  stop(): void {
    clearInterval(this.safetyNet);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Executions became claimable at these due times (epoch ms, database clock). */
  announce(dueTimesMs: number[]): void {
    if (dueTimesMs.length === 0) return;
    this.schedule(dueTimesMs);
    this.notifier.add(dueTimesMs);
  }

  private schedule(dueTimesMs: number[]): void {
    const now = this.clock.now();
    let wakeNow = false;
    for (const t of dueTimesMs) {
      if (t <= now + 1) {
        wakeNow = true;
        continue;
      }
      if (this.timers.has(t)) continue;
      const timer = setTimeout(
        () => {
          this.timers.delete(t);
          this.wake();
        },
        t - now + WAKE_SLACK_MS,
      );
      this.timers.set(t, timer);
    }
    if (wakeNow) this.wake();
  }

  private wake(): void {
    for (const fn of this.listeners) fn();
  }
}
