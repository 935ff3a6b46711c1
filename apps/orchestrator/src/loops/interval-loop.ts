import type { Logger } from 'pino';

/**
 * Runs `tick` every `everyMs`, never overlapping itself. A failing tick (database briefly down) is logged and
 * retried next time instead of crashing the process: every loop is safe to skip a beat.
 */
export class IntervalLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;
  /** Ticks run so far (a loop that spins shows here). */
  ticks = 0;

  constructor(
    readonly name: string,
    private readonly everyMs: number,
    /** May return how soon (ms) it wants to run again, if sooner than `everyMs`. */
    private readonly tick: () => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delayMs = this.everyMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticks++;
      let next: number | undefined;
      this.current = this.tick()
        .then((wanted) => {
          if (typeof wanted === 'number') next = Math.max(0, Math.min(wanted, this.everyMs));
        })
        .catch((err) => this.log.warn({ err, loop: this.name }, 'background loop tick failed'))
        .finally(() => {
          this.current = undefined;
          this.schedule(next);
        });
    }, delayMs);
  }
}
