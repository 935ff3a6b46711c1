import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { HandlerSettings } from '@hourglass/handlers';
import type { Logger } from '@hourglass/runtime';
import type { RunnerConfig } from './config.js';
import { execute, type Running } from './executor.js';
import { createRunnerMetrics, serveMetrics } from './metrics.js';
import { OrchestratorClient, OrchestratorError } from './orchestrator-client.js';
import { Reporter } from './reporter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The runner's loop, separate from the handlers it runs: register (retrying until the orchestrator answers),
 * heartbeat (renews every lease at once; may cancel executions or ask to drain), long-poll for up to the free
 * capacity, run, report in batches; on stop, stop claiming, let in-flight work finish within the grace period,
 * abort the rest, report, deregister.
 */
export class Runner {
  readonly client: OrchestratorClient;
  private readonly reporter: Reporter;
  private readonly settings: HandlerSettings;
  readonly metrics = createRunnerMetrics();
  private metricsServer: Server | undefined;
  private readonly running = new Map<number, Running>();
  private id = '';
  private heartbeatMs = 10_000;
  private stopping = false;
  private pollAbort = new AbortController();
  private slotFreed: (() => void) | undefined;
  private loops: Promise<void>[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight: Promise<void> | undefined;
  private heartbeatsStopped = false;
  private stopped: Promise<void> | undefined;
  /** Resolves when the orchestrator asked this runner to drain. */
  readonly drainRequested: Promise<void>;
  private onDrain: () => void = () => {};

  constructor(
    private readonly config: RunnerConfig,
    private readonly log: Logger,
  ) {
    this.client = new OrchestratorClient(config.ORCHESTRATOR_URL, config.API_KEY);
    this.settings = {
      webhook: {
        secret: config.WEBHOOK_SECRET,
        blockPrivateTargets: config.WEBHOOK_BLOCK_PRIVATE_TARGETS,
        connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      },
    };
    this.reporter = new Reporter(
      this.client,
      () => this.id,
      config.REPORT_BATCH_SIZE,
      config.REPORT_FLUSH_MS,
      log,
    );
    this.drainRequested = new Promise((r) => {
      this.onDrain = r;
    });
  }

  get runnerId(): string {
    return this.id;
  }

  async start(): Promise<void> {
    if (this.config.RUNNER_METRICS_PORT > 0) {
      this.metricsServer = await serveMetrics(
        this.metrics,
        this.config.RUNNER_METRICS_PORT,
        this.config.RUNNER_METRICS_HOST,
      );
    }
    await this.register();
    this.scheduleHeartbeat();
    this.loops.push(this.claimLoop());
  }

  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async register(): Promise<void> {
    let delay = 250;
    for (;;) {
      try {
        const reply = await this.client.register({
          ...(this.id ? { id: this.id } : {}),
          name: this.config.RUNNER_NAME,
          host: hostname(),
          types: this.config.RUNNER_TYPES,
          capacity: this.config.RUNNER_CONCURRENCY,
        });
        this.id = reply.id;
        this.heartbeatMs = reply.heartbeatIntervalMs;
        this.log.info(
          { runnerId: this.id, types: this.config.RUNNER_TYPES, capacity: this.config.RUNNER_CONCURRENCY },
          'registered',
        );
        return;
      } catch (err) {
        if (this.stopping) throw err;
        this.log.warn(
          { err: (err as Error).message, retryInMs: delay },
          'orchestrator not answering; retrying',
        );
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatsStopped) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatInFlight = this.heartbeat().finally(() => {
        this.heartbeatInFlight = undefined;
        this.scheduleHeartbeat();
      });
    }, this.heartbeatMs);
  }

  /**
   * No heartbeat may reach the orchestrator after the deregistration: a heartbeat marks an OFFLINE runner
   * ONLINE again (a partitioned runner coming back), so a late one would resurrect this stopped runner.
   */
  private async stopHeartbeats(): Promise<void> {
    this.heartbeatsStopped = true;
    clearTimeout(this.heartbeatTimer);
    await this.heartbeatInFlight;
  }

  private async heartbeat(): Promise<void> {
    try {
      const reply = await this.client.heartbeat(this.id, [...this.running.keys()]);
      for (const id of reply.cancel) {
        const r = this.running.get(id);
        if (r) {
          this.log.warn({ executionId: id, jobId: r.execution.jobId }, 'orchestrator says abort: cancelling');
          r.abort('cancelled');
        }
      }
      if (reply.drain && !this.stopping) {
        this.log.info({ runnerId: this.id }, 'orchestrator asked to drain');
        this.onDrain();
      }
    } catch (err) {
      if (err instanceof OrchestratorError && err.status === 404 && !this.stopping) {
        // The orchestrator forgot us (database reset): register again under the same id.
        this.log.warn('runner unknown to the orchestrator; registering again');
        await this.register().catch(() => {});
        return;
      }
      this.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  private async claimLoop(): Promise<void> {
    let errorDelay = 250;
    while (!this.stopping) {
      const free = this.config.RUNNER_CONCURRENCY - this.running.size;
      if (free <= 0) {
        await new Promise<void>((r) => {
          this.slotFreed = r;
        });
        continue;
      }
      try {
        const executions = await this.client.nextJobs(
          this.id,
          free,
          this.config.POLL_WAIT_SECONDS,
          this.pollAbort.signal,
        );
        errorDelay = 250;
        for (const e of executions) this.start1(e);
      } catch (err) {
        if (this.stopping) return;
        if (err instanceof OrchestratorError && err.status === 404) {
          await this.register().catch(() => {});
          continue;
        }
        this.log.warn({ err: (err as Error).message, retryInMs: errorDelay }, 'claim failed');
        await sleep(errorDelay);
        errorDelay = Math.min(errorDelay * 2, 1_000);
      }
    }
  }

  private start1(e: Parameters<typeof execute>[0]): void {
    const r = execute(e, this.config.HANDLER_TIMEOUT_MS, this.settings);
    this.running.set(e.id, r);
    this.metrics.inFlight.set(this.running.size);
    const stopTimer = this.metrics.handlerSeconds.startTimer({ type: e.type });
    this.log.debug(
      { executionId: e.id, jobId: e.jobId, type: e.type, attempt: e.attempt },
      'execution started',
    );
    void r.done.then((outcome) => {
      this.running.delete(e.id);
      stopTimer();
      this.metrics.inFlight.set(this.running.size);
      this.metrics.handled.inc({ type: e.type, status: outcome.status });
      this.reporter.report(e.id, outcome);
      if (outcome.status !== 'SUCCEEDED') {
        this.metrics.failures.inc({ type: e.type });
        this.log.info(
          {
            executionId: e.id,
            jobId: e.jobId,
            attempt: e.attempt,
            status: outcome.status,
            error: outcome.error,
          },
          'execution did not succeed',
        );
      }
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    });
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.pollAbort.abort();
    this.slotFreed?.();
    await Promise.allSettled(this.loops);
    const inFlight = [...this.running.values()];
    this.log.info(
      { inFlight: inFlight.length, graceMs: this.config.SHUTDOWN_GRACE_MS },
      'stopping: finishing in-flight work',
    );
    const grace = sleep(this.config.SHUTDOWN_GRACE_MS).then(() => 'grace-over' as const);
    const all = Promise.allSettled(inFlight.map((r) => r.done)).then(() => 'done' as const);
    if ((await Promise.race([all, grace])) === 'grace-over') {
      this.log.warn({ aborted: this.running.size }, 'grace period over: aborting what is left');
      for (const r of this.running.values()) r.abort('shutdown');
      await all;
    }
    // Keep heartbeating while reports drain, so no lease lapses in between.
    const reported = await this.reporter.drain(10_000);
    if (!reported) this.log.error({ pending: this.reporter.pending }, 'could not deliver every report');
    await this.stopHeartbeats();
    try {
      await this.client.deregister(this.id, [...this.running.keys(), ...this.reporter.pendingIds()]);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'deregister failed; the orchestrator will mark us OFFLINE',
      );
    }
    await this.client.close();
    this.metricsServer?.close();
    this.log.info({ runnerId: this.id }, 'stopped');
  }
}
