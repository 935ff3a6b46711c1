import type { Outcome } from '@hourglass/contracts';
import type { Logger } from './logger.js';
import { type OrchestratorClient, OrchestratorError } from './orchestrator-client.js';

/** How often reports the orchestrator refused even alone are offered again (an upgrade or a proxy may fix it). */
const REFUSED_RETRY_MS = 60_000;

/**
 * Batches outcome reports, one request in flight at a time: sent when `batchSize` are waiting, or `flushMs` after
 * the first (0, the default: at once when no request is in flight). Reports that come while a request is in flight
 * wait for its answer and go together in the next: under load they batch by themselves, and a report on an idle
 * runner goes at once. (A fixed 5-ms wait for company was on the path from one execution's end to the next one's
 * start: in a queue with a small concurrency limit, a fifth of each slot's cycle; issue 14.) A report is kept until the orchestrator answers it with a verdict, and it is never replaced by
 * an outcome the handler did not have (issue 10, defect 2):
 * - a failed send (unreachable, 5xx, 429, 401/403) keeps its reports and retries with backoff, after
 *   Retry-After when one is given, so an orchestrator restart loses nothing the runner finished (completion is
 *   idempotent, so a retried batch is harmless);
 * - a batch refused as a request (400, 413) is sent one report at a time, so one report cannot hold up the rest.
 *   A result too large to send is then reported by its size (`resultBytes`), and the orchestrator records why it
 *   was not stored. A report refused even alone (a bug: the orchestrator stores whatever a valid report holds)
 *   is kept aside, still held (heartbeats list it), logged, offered again now and then, and named as started
 *   at deregistration, when the orchestrator fails and retries it.
 */
export class Reporter {
  private queue = new Map<number, Outcome>();
  /** Reports refused even when sent alone. */
  private refused = new Map<number, Outcome>();
  private refusedTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private retryDelayMs = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly client: OrchestratorClient,
    private readonly runnerId: () => string,
    private readonly batchSize: number,
    private readonly flushMs: number,
    private readonly log: Logger,
    /** Called after the orchestrator answered a batch, i.e. when `waiting` went down. */
    private readonly onAnswered: () => void = () => {},
  ) {}

  get pending(): number {
    return this.queue.size + this.refused.size;
  }

  /** Reports not yet sent or answered (those refused even alone, kept aside, not counted). */
  get waiting(): number {
    return this.queue.size;
  }

  /** Executions whose outcome the orchestrator has not yet answered with a verdict. */
  pendingIds(): number[] {
    return [...this.queue.keys(), ...this.refused.keys()];
  }

  report(executionId: number, outcome: Outcome): void {
    this.queue.set(executionId, outcome);
    if (this.queue.size >= this.batchSize) this.kick(0);
    else this.kick(this.flushMs);
  }

  /**
   * Resolves once every report so far was sent and answered: true if each got a verdict, false if some were
   * refused (they are still pending) or `timeoutMs` passed.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.queue.size === 0 && !this.inFlight) return this.refused.size === 0;
    this.kick(0);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(this.refused.size === 0);
      });
    });
  }

  private kick(delayMs: number): void {
    if (this.inFlight || this.timer) return;
    const fire = () => {
      this.timer = undefined;
      this.inFlight = this.send().finally(() => {
        this.inFlight = undefined;
        if (this.queue.size > 0)
          this.kick(this.retryDelayMs || (this.queue.size >= this.batchSize ? 0 : this.flushMs));
        else for (const w of this.idleWaiters.splice(0)) w();
      });
    };
    const wait = Math.max(delayMs, this.retryDelayMs);
    // No wait: after the outcomes finished in this turn of the event loop (setImmediate), not a timer's 1 ms
    // minimum, which was a fifth of the report's way to the orchestrator in a queue with a small limit (issue 14).
    this.timer = wait > 0 ? setTimeout(fire, wait) : setImmediate(fire);
  }

  private async send(): Promise<void> {
    const batch = [...this.queue].slice(0, 1000);
    try {
      await this.deliver(batch);
      this.retryDelayMs = 0;
    } catch (err) {
      if (refusedRequest(err)) {
        // The request itself is refused (400, 413): one report in it is at fault, or the batch is too large.
        // Sent alone, each report gets its own answer, and none holds up the others.
        await this.deliverOneByOne(batch);
        return;
      }
      this.backOff(err);
    }
  }

  /** Keeps the reports for another try: after Retry-After when the orchestrator gave one, else with backoff. */
  private backOff(err: unknown): void {
    const backoff = Math.min(5_000, Math.max(250, this.retryDelayMs * 2));
    this.retryDelayMs = err instanceof OrchestratorError && err.retryAfterMs ? err.retryAfterMs : backoff;
    const fields = { err: (err as Error).message, pending: this.queue.size, retryInMs: this.retryDelayMs };
    if (err instanceof OrchestratorError && (err.status === 401 || err.status === 403)) {
      // Not dropped: a key being rotated, or fixed by an operator, should not cost the work already done.
      this.log.error(
        { ...fields, status: err.status },
        "the orchestrator refuses this runner's API key; reports are kept and retried",
      );
    } else {
      this.log.warn(fields, 'report failed; retrying');
    }
  }

  private async deliver(batch: [number, Outcome][]): Promise<void> {
    const reply = await this.client.complete({
      runnerId: this.runnerId(),
      results: batch.map(([executionId, outcome]) => ({ executionId, outcome })),
    });
    const sent = new Map(batch);
    for (const [id] of batch) this.queue.delete(id);
    this.onAnswered();
    for (const r of reply.results) {
      if (r.verdict === 'conflict') {
        this.log.warn(
          { executionId: r.executionId, status: r.status },
          'report refused: execution no longer ours',
        );
      } else if (r.status !== sent.get(r.executionId)?.status) {
        // The orchestrator could not store what was reported (a result too large, say): it says why on the execution.
        this.log.warn(
          { executionId: r.executionId, reported: sent.get(r.executionId)?.status, recorded: r.status },
          "the orchestrator recorded another status than reported; the execution's error says why",
        );
      }
    }
  }

  private async deliverOneByOne(batch: [number, Outcome][]): Promise<void> {
    for (const [id, reported] of batch) {
      let outcome = reported;
      try {
        await this.deliver([[id, outcome]]);
        continue;
      } catch (err) {
        if (!refusedRequest(err)) return this.backOff(err);
        const bySize = err.status === 413 ? reportedBySize(outcome) : undefined;
        if (!bySize) {
          this.setAside(id, outcome, err);
          continue;
        }
        // The result is too large to send: say so, with its size; the orchestrator records why it is not stored.
        this.log.warn(
          { executionId: id, resultBytes: bySize.resultBytes },
          'result too large to send; reporting its size instead',
        );
        outcome = bySize;
        this.queue.set(id, outcome);
      }
      try {
        await this.deliver([[id, outcome]]);
      } catch (err) {
        if (!refusedRequest(err)) return this.backOff(err);
        this.setAside(id, outcome, err);
      }
    }
    this.retryDelayMs = 0;
  }

  private setAside(id: number, outcome: Outcome, err: OrchestratorError): void {
    this.queue.delete(id);
    this.refused.set(id, outcome);
    this.log.error(
      { executionId: id, status: outcome.status, err: err.message, retryInMs: REFUSED_RETRY_MS },
      'the orchestrator refuses this report even alone; it is kept, the execution stays held, and it is named ' +
        'as started when the runner deregisters',
    );
    this.refusedTimer ??= setTimeout(() => {
      this.refusedTimer = undefined;
      for (const [rid, o] of this.refused) this.queue.set(rid, o);
      this.refused.clear();
      if (this.queue.size > 0) this.kick(0);
    }, REFUSED_RETRY_MS).unref();
  }
}

/** The request itself is refused (bad input, too large): sending it again unchanged cannot succeed. */
function refusedRequest(err: unknown): err is OrchestratorError {
  return err instanceof OrchestratorError && err.refused;
}

/** A success whose result is left out and stated by its size in bytes of JSON; undefined if it has no result. */
function reportedBySize(outcome: Outcome): (Outcome & { resultBytes: number }) | undefined {
  if (outcome.status !== 'SUCCEEDED' || outcome.result === undefined) return undefined;
  return {
    status: 'SUCCEEDED',
    resultBytes: Buffer.byteLength(JSON.stringify(outcome.result)),
    ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}),
  };
}
