import type { Logger } from 'pino';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import type { ClaimedRow } from '../queue/claim-executions.js';
import type { ReadySignal } from './ready-signal.js';

/** Whether a claim's statements locked rows they did not claim (ClaimedRow.capped; a claim may join several). */
const leftOut = (rows: ClaimedRow[]) => rows.some((r) => r.capped);

/** Runners `exhausted` remembers at most. */
const MAX_REMEMBERED = 10_000;

export interface ClaimRequest {
  runnerId: string;
  types: readonly string[];
  /** The queues it serves (null: all). */
  queues: readonly string[] | null;
  max: number;
  waitMs: number;
  /** Aborted when the runner's HTTP request goes away: stop waiting so nothing is claimed for nobody. */
  signal: AbortSignal;
}

interface Waiter {
  req: ClaimRequest;
  deadline: number;
  resolve: (rows: ClaimedRow[]) => void;
  timer?: NodeJS.Timeout;
  onAbort: () => void;
}

/**
 * Long-poll claims. A request first claims directly; with nothing due it waits (up to `waitMs`) and is served
 * when the ReadySignal wakes this replica. Waiters are served one claim at a time in arrival order; after a
 * claim comes back short, waiters whose types were all just exhausted are skipped for that round, so a wake-up
 * with 50 idle runners and one job costs one or two queries, not fifty.
 *
 * A wake-up that comes while a request's first claim is under way is not lost: that claim may have read the
 * database before the change it announces committed (a slot freed in a full limited queue, the likeliest case:
 * runners poll again as soon as they receive work, while the previous batch's reports are on their way), so the
 * request, once parked, is served again at once instead of sleeping until the next wake-up (the safety net, a
 * second, when nothing else happens). Seen with pnpm bench on a queue with `concurrency: 50`: about one claim
 * cycle in thirty stalled for a second.
 *
 * A request from a runner whose last claim took everything it could, with no wake-up since, waits without claiming
 * (see `exhausted`). That relies on every change that makes work claimable waking this replica after it commits
 * (announce, NOTIFY, due-time timers, the rate window's timer), and a claim that locked rows it did not claim
 * (`capped`) announces them. What does not (a claim or command transaction that failed after locking rows, which
 * other claims skipped) is caught by the safety net, as for any waiting request.
 */
export class ClaimDispatcher {
  private waiters: Waiter[] = [];
  private running = false;
  private again = false;
  /** Wake-ups so far, to tell whether one came while a claim was under way. */
  private wakes = 0;
  /**
   * Runners whose last claim took everything it could (fewer rows than asked, none left out for the answer's
   * size), with the wake-up count when that claim began. A runner asks again as soon as it receives work; until a
   * wake-up comes, nothing has become claimable for it since, so that request waits at once instead of running a
   * claim that finds nothing (on a queue with a small limit, that claim ran beside the report that frees the room,
   * once per cycle).
   */
  private exhausted = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly lifecycle: JobLifecycle,
    private readonly ready: ReadySignal,
    private readonly leaseMs: number,
    /** Payload bytes a claim answer may carry (see CLAIM_MAX_BYTES). */
    private readonly maxBytes: number,
    private readonly log: Logger,
  ) {
    this.unsubscribe = ready.onWake(() => {
      this.wakes++;
      this.serve();
    });
  }

  async claim(req: ClaimRequest): Promise<ClaimedRow[]> {
    const wakes = this.wakes;
    const idle = this.exhausted.get(req.runnerId) === wakes && req.waitMs > 0;
    const rows = idle ? [] : await this.claimFor(req, wakes);
    if (rows.length > 0 || req.waitMs <= 0 || req.signal.aborted) return rows;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        req,
        deadline: Date.now() + req.waitMs,
        resolve,
        onAbort: () => this.finish(waiter, []),
      };
      req.signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.park(waiter);
      if (this.wakes !== wakes) this.serve();
    });
  }

  /** Answers every waiter with nothing (204): used when the orchestrator shuts down. */
  close(): void {
    this.unsubscribe();
    for (const w of [...this.waiters]) this.finish(w, []);
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Claims for `req`; `wakes`: the wake-up count when the claim began (see `exhausted`). */
  private async claimFor(req: ClaimRequest, wakes: number): Promise<ClaimedRow[]> {
    const rows = await this.lifecycle.claim({
      runnerId: req.runnerId,
      types: req.types,
      queues: req.queues,
      max: req.max,
      leaseMs: this.leaseMs,
      maxBytes: this.maxBytes,
      // A rate-limited queue with work left: wake the waiters when its window lets the next claim through.
      onWindowFull: (opensAt) => this.ready.wakeAt([opensAt.getTime()]),
    });
    // Rows the claim locked but left out are claimable again now that it committed: wake whoever waits for them.
    const left = leftOut(rows);
    if (left) this.ready.announce([0]);
    if (rows.length < req.max && !left) {
      // Bounded: a replica that saw many runners come and go forgets them all (it only claims more often).
      if (this.exhausted.size >= MAX_REMEMBERED) this.exhausted.clear();
      this.exhausted.set(req.runnerId, wakes);
    } else {
      this.exhausted.delete(req.runnerId);
    }
    if (rows.length > 0 && req.signal.aborted) {
      await this.lifecycle.release(
        req.runnerId,
        rows.map((r) => r.id),
      );
      // Claimable again: nothing else announces them.
      this.exhausted.delete(req.runnerId);
      this.ready.announce([0]);
      return [];
    }
    return rows;
  }

  private park(w: Waiter): void {
    w.timer = setTimeout(() => this.finish(w, []), Math.max(0, w.deadline - Date.now()));
    this.waiters.push(w);
  }

  private unpark(w: Waiter): boolean {
    const i = this.waiters.indexOf(w);
    if (i < 0) return false;
    this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    return true;
  }

  private finish(w: Waiter, rows: ClaimedRow[]): void {
    this.unpark(w);
    w.req.signal.removeEventListener('abort', w.onAbort);
    w.resolve(rows);
  }

  private serve(): void {
    if (this.waiters.length === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.round()
      .catch((err) => this.log.warn({ err }, 'claim round failed; waiters retry on the next wake-up'))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.serve();
        }
      });
  }

  private async round(): Promise<void> {
    const wakes = this.wakes;
    // Exhausted per type and set of queues served: a runner serving other queues may still find work of a type.
    const exhausted = new Set<string>();
    const slots = (r: ClaimRequest) => r.types.map((t) => `${t}\u0000${r.queues?.join('\u0000') ?? '*'}`);
    for (const w of [...this.waiters]) {
      if (slots(w.req).every((t) => exhausted.has(t))) continue;
      // Out of the queue while its claim runs, so its timeout or abort cannot answer it a second time.
      if (!this.unpark(w)) continue;
      let rows: ClaimedRow[] = [];
      try {
        rows = await this.claimFor(w.req, wakes);
      } finally {
        if (rows.length > 0 || w.req.signal.aborted || Date.now() >= w.deadline) this.finish(w, rows);
        else this.park(w);
      }
      if (rows.length < w.req.max && !leftOut(rows)) for (const t of slots(w.req)) exhausted.add(t);
    }
  }
}
