import type { Outcome } from '@hourglass/contracts';
import type { Logger } from './logger.js';
import { type OrchestratorClient, OrchestratorError } from './orchestrator-client.js';

/**
 * Batches outcome reports: sent when `batchSize` are waiting or `flushMs` after the first, one request in
 * flight at a time. A failed send keeps its reports and retries with backoff, so an orchestrator restart
 * loses nothing the runner finished (completion is idempotent, so a retried batch is harmless).
 */
export class Reporter {
  private queue = new Map<number, Outcome>();
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly client: OrchestratorClient,
    private readonly runnerId: () => string,
    private readonly batchSize: number,
    private readonly flushMs: number,
    private readonly log: Logger,
  ) {}

  get pending(): number {
    return this.queue.size;
  }

  /** Executions whose outcome is not yet accepted by the orchestrator. */
  pendingIds(): number[] {
    return [...this.queue.keys()];
  }

  report(executionId: number, outcome: Outcome): void {
    this.queue.set(executionId, outcome);
    if (this.queue.size >= this.batchSize) this.kick(0);
    else this.kick(this.flushMs);
  }

  /** Resolves once every report so far was accepted (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.queue.size === 0 && !this.inFlight) return true;
    this.kick(0);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  private kick(delayMs: number): void {
    if (this.inFlight || this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.inFlight = this.send().finally(() => {
          this.inFlight = undefined;
          if (this.queue.size > 0)
            this.kick(this.retryDelayMs || (this.queue.size >= this.batchSize ? 0 : this.flushMs));
          else for (const w of this.idleWaiters.splice(0)) w();
        });
      },
      Math.max(delayMs, this.retryDelayMs),
    );
  }

  private async send(): Promise<void> {
    const batch = [...this.queue].slice(0, 1000);
    try {
      await this.deliver(batch);
      this.retryDelayMs = 0;
    } catch (err) {
      if (err instanceof OrchestratorError && err.refused) {
        // The orchestrator refuses the batch itself (a result it cannot store, say): retrying it unchanged would
        // block every report behind it forever. Send each alone, and replace a refused one by a failure.
        await this.deliverOneByOne(batch);
        return;
      }
      // Anything else passes (unreachable, 5xx, 429, even a 401 while a key is being rotated): keep the reports and
      // try again, after Retry-After when the orchestrator gave one.
      const backoff = Math.min(5_000, Math.max(250, this.retryDelayMs * 2));
      this.retryDelayMs = err instanceof OrchestratorError && err.retryAfterMs ? err.retryAfterMs : backoff;
      this.log.warn({ err: (err as Error).message, pending: this.queue.size }, 'report failed; retrying');
    }
  }

  private async deliver(batch: [number, Outcome][]): Promise<void> {
    const reply = await this.client.complete({
      runnerId: this.runnerId(),
      results: batch.map(([executionId, outcome]) => ({ executionId, outcome })),
    });
    for (const [id] of batch) this.queue.delete(id);
    for (const r of reply.results) {
      if (r.verdict === 'conflict') {
        this.log.warn(
          { executionId: r.executionId, status: r.status },
          'report refused: execution no longer ours',
        );
      }
    }
  }

  private async deliverOneByOne(batch: [number, Outcome][]): Promise<void> {
    for (const [id, outcome] of batch) {
      try {
        await this.deliver([[id, outcome]]);
      } catch (err) {
        if (!(err instanceof OrchestratorError && err.refused)) return; // retried later
        const replacement: Outcome = {
          status: 'FAILED',
          error: `the orchestrator refused this execution's report: ${err.message}`.slice(0, 2_000),
          ...(outcome.startedAt ? { startedAt: outcome.startedAt } : {}),
        };
        this.log.error({ executionId: id, err: err.message }, 'report refused; reporting a failure instead');
        await this.deliver([[id, replacement]]).catch((again) => {
          this.queue.delete(id);
          this.log.error({ executionId: id, err: (again as Error).message }, 'report dropped');
        });
      }
    }
  }
}
