import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;

/**
 * Counts failed authentications per client address (per replica, a fixed one-minute window). An address past the
 * limit gets 429 on every route that needs a key until its window ends: guessing keys (or a client misconfigured in
 * a loop) can no longer cost a database lookup per request (issue 10, defect 9). Addresses are kept in a cache of
 * bounded size, least recently seen out.
 */
export class FailedAuthLimiter {
  private readonly windows = new LRUCache<string, { count: number; resetAt: number }>({ max: 10_000 });

  constructor(private readonly perMinute: number) {}

  /** How long (ms) `address` must wait before it may try again; 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    const w = this.windows.get(address);
    if (!w || w.resetAt <= now || w.count < this.perMinute) return 0;
    return w.resetAt - now;
  }

  failed(address: string, now = Date.now()): void {
    const w = this.windows.get(address);
    if (!w || w.resetAt <= now) this.windows.set(address, { count: 1, resetAt: now + WINDOW_MS });
    else w.count++;
  }
}
