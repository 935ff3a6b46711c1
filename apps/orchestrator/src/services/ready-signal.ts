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
 * Timers aim this long after a due time, plus the database clock's uncertainty (DbClock.uncertaintyMs, half the
 * round trip its offset was measured over): due times travel as whole ms (getTime() drops PostgreSQL's µs), so the
 * row can be due up to a millisecond after the ms it is announced at, and a claim made before that finds nothing
 * and the waiter sleeps on until the safety net. Timers never fire early on this replica's clock (see `at`). (The
 * slack was a fixed 5 ms, which also absorbed early timers; issue 15 measured timer lateness.)
 */
const WAKE_SLACK_MS = 1;

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

  /**
   * Wakes this replica's claimers at these times (epoch ms, database clock), without telling the other replicas:
   * for what each replica finds out on its own (a rate limit's window opening, found by its own claims). Never
   * sooner than twice WAKE_SLACK_MS from now: a time the clock offset's error puts in the past would otherwise wake the
   * claimers at once, over and over, until the database's clock reaches it.
   */
  wakeAt(timesMs: number[]): void {
    const soonest = this.clock.now() + 2 * WAKE_SLACK_MS;
    this.schedule(timesMs.map((t) => Math.max(t, soonest)));
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
      this.at(t, t + WAKE_SLACK_MS + this.clock.uncertaintyMs);
    }
    if (wakeNow) this.wake();
  }

  /**
   * Wakes at `target` on the database clock, never before. A Node.js timer can fire a few ms early: libuv measures
   * its delay from the loop's cached time, which lags the real time by however long the loop was busy. Early, it
   * is set again for what is left.
   */
  private at(t: number, target: number): void {
    const timer = setTimeout(
      () => {
        if (this.clock.now() < target) return this.at(t, target);
        this.timers.delete(t);
        this.wake();
      },
      Math.max(1, target - this.clock.now()),
    );
    this.timers.set(t, timer);
  }

  private wake(): void {
    for (const fn of this.listeners) fn();
  }
}
