import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { type EventFilter, type EventRow, readEvents } from '../queue/read-events.js';
import { EVENTS_CHANNEL, lastEventId } from '../queue/sequence-events.js';
import type { EventSequencer } from './event-sequencer.js';
import type { ListenConnection } from './listen-connection.js';

/** Rows per page a stream reads; with the window below, what one client costs per query is bounded. */
const PAGE_ROWS = 200;
/** Ids one page scans at most, whatever the filter. */
const PAGE_WINDOW = 10_000;

/**
 * What `GET /events` streams are fed from. Each stream pages through `events` by id from its cursor (never more
 * than a page in memory) and, at the head, sleeps until the head moves: woken by this replica's sequencer rounds
 * and by the NOTIFY every round sends (other replicas' rounds arrive on the LISTEN connection), with a periodic
 * re-check as a safety net. The head (the last id numbered) is the only thing kept per replica.
 */
export class EventFeed {
  private head = 0;
  private readonly waiting = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly db: Db,
    listen: ListenConnection,
    sequencer: EventSequencer,
    private readonly log: Logger,
    private readonly safetyNetMs = 1_000,
    /** A stream quiet this long gets a keep-alive (EVENTS_KEEP_ALIVE_MS; the contract says 15 s). */
    readonly keepAliveMs = 15_000,
    /** Streams this replica serves at once (EVENTS_MAX_STREAMS): each reads the table on its own after a round. */
    readonly maxStreams = 100,
  ) {
    listen.subscribe(EVENTS_CHANNEL, (payload) => this.advance(Number(payload)));
    // Rounds committed while we were not listening: re-read the head.
    listen.onConnected(() => void this.refreshHead());
    sequencer.onSequenced((lastId) => this.advance(lastId));
  }

  private streams = 0;

  /** Counts a stream in, or answers false when this replica already serves maxStreams. */
  openStream(): boolean {
    if (this.streams >= this.maxStreams) return false;
    this.streams++;
    return true;
  }

  closeStream(): void {
    this.streams--;
  }

  /** The last id numbered, as the database says now: where a stream "from now" starts. */
  async refreshHead(): Promise<number> {
    try {
      this.advance(await lastEventId(this.db));
    } catch (err) {
      this.log.warn({ err }, 'cannot read the event head');
    }
    return this.head;
  }

  /**
   * The events after `cursor` that match `filter`, page by page, for as long as `signal` is not aborted and the
   * feed is open; between pages at the head, `idle()` is awaited every `idleMs` without events (the keep-alive).
   * Each yielded page is in id order and follows the previous one; `cursor` moves past ids that did not match.
   * With `untilHead`, it ends once it has reached the head as it was when it started.
   */
  async *follow(
    filter: EventFilter,
    cursor: number,
    signal: AbortSignal,
    idleMs: number,
    idle: () => Promise<void>,
    untilHead = false,
  ): AsyncGenerator<EventRow[]> {
    let after = cursor;
    let lastSent = Date.now();
    let reread = true;
    while (!signal.aborted && !this.closed) {
      // Every id up to the head is committed (rounds commit whole and in order): the head a round announced once it
      // committed, or, after a quiet spell, as the database says (a missed NOTIFY).
      const head = reread ? await this.refreshHead() : this.head;
      while (after < head && !signal.aborted && !this.closed) {
        const upTo = Math.min(head, after + PAGE_WINDOW);
        const rows = await readEvents(this.db, filter, after, upTo, PAGE_ROWS);
        after = rows.length === PAGE_ROWS ? rows[rows.length - 1]!.id : upTo;
        if (rows.length > 0) {
          yield rows;
          lastSent = Date.now();
        }
      }
      if (signal.aborted || this.closed || untilHead) return;
      const quietFor = Date.now() - lastSent;
      if (quietFor >= idleMs) {
        await idle();
        lastSent = Date.now();
        continue;
      }
      reread = !(await this.beyond(after, Math.min(idleMs - quietFor, this.safetyNetMs), signal));
    }
  }

  /** Ends every stream: the replica is shutting down. */
  close(): void {
    this.closed = true;
    for (const wake of [...this.waiting]) wake();
  }

  private advance(lastId: number): void {
    if (!Number.isFinite(lastId) || lastId <= this.head) return;
    this.head = lastId;
    for (const wake of [...this.waiting]) wake();
  }

  /** Resolves when the head passes `after` (true), after `ms` (false), or on abort or close. */
  private beyond(after: number, ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.head > after || this.closed || signal.aborted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiting.delete(done);
        resolve(this.head > after);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.waiting.add(done);
    });
  }
}
