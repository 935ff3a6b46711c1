import type { Logger } from 'pino';

/**
 * Sends NOTIFYs for a stream of items with one statement in flight at a time: items added while one is being sent
 * ride in the next, so a burst costs one or two statements, not one per item. A failed send is logged and dropped
 * (listeners have a safety net for what they miss).
 */
export class NotifyBatcher<T> {
  private pending: T[] = [];
  private sending = false;

  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  add(items: T[]): void {
    if (items.length === 0) return;
    this.pending.push(...items);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.sending || this.pending.length === 0) return;
    this.sending = true;
    const items = this.pending;
    this.pending = [];
    try {
      await this.send(items);
    } catch (err) {
      this.log.warn({ err }, `NOTIFY of ${this.what} failed; other replicas catch up on their safety net`);
    } finally {
      this.sending = false;
      if (this.pending.length > 0) void this.flush();
    }
  }
}
