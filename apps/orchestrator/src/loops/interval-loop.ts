import type { Logger } from 'pino';

/**
 * Runs `tick` every `everyMs`, never overlapping itself. A failing tick (database briefly down) is logged and
 * retried next time instead of crashing the process: every loop is safe to skip a beat.
 */
export class IntervalLoop {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = true;

  constructor(
    readonly name: string,
    private readonly everyMs: number,
    private readonly tick: () => Promise<void>,
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

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick()
        .catch((err) => this.log.warn({ err, loop: this.name }, 'background loop tick failed'))
        .finally(() => {
          this.current = undefined;
          this.schedule();
        });
    }, this.everyMs);
  }
}
