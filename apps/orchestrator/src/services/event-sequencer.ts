import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { sequenceEvents } from '../queue/sequence-events.js';

/** About the most events one round numbers (one transaction; it takes whole outbox rows): a backlog is worked through in rounds of this size. */
const ROUND_BATCH = 5_000;
/**
 * While writes keep coming, rounds start at most this often: each round is a transaction (a commit to flush), and
 * under load a round right after each claim or report cost more than the events themselves (pnpm bench,
 * throughput). Events reach streams up to this much later; an idle system numbers at once.
 */
const ROUND_SPACING_MS = 20;

/**
 * Numbers the events this replica (or any) wrote, so that streams can serve them (see queue/sequence-events.ts):
 * - after a transaction of this replica wrote events (`poke`), a round starts at once, or after the round in flight
 *   (spaced by ROUND_SPACING_MS): pokes meanwhile are folded into that one round, so a burst costs a round or two;
 * - a round that filled its batch is followed by another at once;
 * - a safety-net round every `safetyNetMs` numbers what nobody poked for (a replica that died between its commit
 *   and its round, a runner back from OFFLINE by heartbeat).
 * Every replica runs one; their rounds take turns on a row lock.
 */
export class EventSequencer {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(lastId: number) => void>();
  /** Rounds run so far (tests read it). */
  rounds = 0;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly safetyNetMs = 1_000,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.poke(), this.safetyNetMs);
    this.timer.unref();
    this.poke();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Calls `fn` with the last id after each round of this replica that numbered events. */
  onSequenced(fn: (lastId: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Events were committed: number them soon. */
  poke = (): void => {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.rounds_().finally(() => {
      this.running = undefined;
    });
  };

  /** Runs rounds until one finds less than a batch and nobody poked meanwhile. */
  private async rounds_(): Promise<void> {
    for (;;) {
      this.again = false;
      let full = false;
      try {
        this.rounds++;
        const { moved, lastId } = await sequenceEvents(this.db, ROUND_BATCH);
        full = moved >= ROUND_BATCH;
        if (moved > 0) for (const fn of this.listeners) fn(lastId);
      } catch (err) {
        // The next poke or the safety net tries again; the events wait in the outbox meanwhile.
        this.log.warn({ err }, 'event sequencer round failed');
        return;
      }
      if (this.stopped || !(full || this.again)) return;
      if (!full) await new Promise((r) => setTimeout(r, ROUND_SPACING_MS));
    }
  }
}
