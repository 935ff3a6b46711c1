import { constants, hostname } from 'node:os';
import type { ClaimedExecution, HeartbeatReply, Outcome, ProgressValue } from '@hourglass/contracts';
import { execute, type Running } from './executor.js';
import { declarationOf, type Handler } from './handler.js';
import { defaultLogger, type Logger } from './logger.js';
import { OrchestratorClient, OrchestratorError } from './orchestrator-client.js';
import { Reporter } from './reporter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Progress reports ride the next heartbeat, sent early if need be: at most this long after the report. */
const PROGRESS_FLUSH_MS = 1_000;

/** Lets a program watch executions (metrics, tracing) without touching the loop. */
export interface RunnerHooks {
  /** A claimed execution's handler is about to run. */
  onStart?(execution: ClaimedExecution): void;
  /** Its outcome is decided (before it is reported); `seconds` is how long the handler ran. */
  onFinish?(execution: ClaimedExecution, outcome: Outcome, seconds: number): void;
}

export interface RunnerOptions {
  /** The orchestrator's base URL, or several replicas' (the runner moves to the next when one cannot be reached). */
  orchestratorUrl: string | string[];
  /** An API key with the `runner` scope (omit when the orchestrator runs with AUTH_DISABLED). */
  apiKey?: string;
  /** The handlers this runner serves, one per type. */
  handlers: Handler[];
  /** Executions run at once (default 10). */
  concurrency?: number;
  /** The queues it takes work from (default: every queue). */
  queues?: string[];
  /** Shown in `GET /runners` (default `<hostname>-<pid>`). */
  name?: string;
  host?: string;
  /** Handler time limit when neither the job nor the handler sets one (default 300,000 ms). */
  defaultTimeoutMs?: number;
  /** On stop: how long running handlers may take to finish before they are aborted (default 30,000 ms). */
  shutdownGraceMs?: number;
  /** Longest long-poll for work, in seconds (default 30; the orchestrator may cap it). */
  pollWaitSeconds?: number;
  /**
   * Outcomes are reported in batches, one request at a time: when this many wait (default 200), or `reportFlushMs`
   * after the first (default 0: at once when no report is in flight; those that come meanwhile go together next).
   */
  reportBatchSize?: number;
  reportFlushMs?: number;
  /** A pino (or pino-compatible) logger; default: pino JSON on stdout at LOG_LEVEL. */
  logger?: Logger;
  hooks?: RunnerHooks;
  /**
   * Stop gracefully on SIGTERM and SIGINT (default true): stop claiming, let running handlers finish within the grace
   * period, report, deregister, then let the signal take its course. A second signal stops at once.
   */
  handleSignals?: boolean;
}

export interface Runner {
  /** Registers (retrying until the orchestrator answers) and starts claiming; resolves once registered. */
  start(): Promise<void>;
  /** Graceful stop; safe to call more than once. */
  stop(): Promise<void>;
  /** The id the orchestrator gave this runner ('' before `start`). */
  readonly id: string;
  /** Resolves once the runner has stopped: through `stop`, a signal, or a drain the orchestrator asked for. */
  readonly stopped: Promise<void>;
}

/**
 * A runner for your handlers: it registers with the orchestrator (declaring each type's payload schema), heartbeats,
 * long-polls for up to its free capacity, runs handlers, reports outcomes in batches, and shuts down gracefully.
 *
 *     const runner = createRunner({ orchestratorUrl: 'http://127.0.0.1:8080', apiKey, handlers: [resize] });
 *     await runner.start();
 */
export function createRunner(options: RunnerOptions): Runner {
  return new RunnerLoop(options);
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`createRunner: ${name} must be a positive integer`);
  return v;
}

/**
 * The runner's loop, separate from the handlers it runs: register (retrying until the orchestrator answers),
 * heartbeat (renews leases, carries progress; may cancel executions or ask to drain), long-poll for up to the free
 * capacity, run, report in batches; on stop, stop claiming, let in-flight work finish within the grace period,
 * abort the rest, report, deregister.
 */
class RunnerLoop implements Runner {
  private readonly client: OrchestratorClient;
  private readonly reporter: Reporter;
  private readonly log: Logger;
  private readonly handlers: Map<string, Handler>;
  private readonly concurrency: number;
  private readonly defaultTimeoutMs: number;
  private readonly graceMs: number;
  private readonly pollWaitSeconds: number;
  private readonly running = new Map<number, Running>();
  private readonly progress = new Map<number, ProgressValue>();
  private runnerId = '';
  private heartbeatMs = 10_000;
  private lastHeartbeatAt = 0;
  private heartbeatDueAt = 0;
  private stopping = false;
  /** The registration under way, which a stop must wait for (else it would leave a registered runner behind). */
  private registering: Promise<void> | undefined;
  private pollAbort = new AbortController();
  private slotFreed: (() => void) | undefined;
  private loops: Promise<void>[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight: Promise<void> | undefined;
  private heartbeatsStopped = false;
  private stopping$: Promise<void> | undefined;
  private markStopped: () => void = () => {};
  private removeSignalHandlers: () => void = () => {};
  readonly stopped: Promise<void>;

  constructor(private readonly options: RunnerOptions) {
    if (!options.handlers?.length) throw new TypeError('createRunner: give at least one handler');
    this.handlers = new Map();
    for (const h of options.handlers) {
      if (this.handlers.has(h.type)) throw new TypeError(`createRunner: two handlers for type '${h.type}'`);
      this.handlers.set(h.type, h);
    }
    this.concurrency = positiveInt('concurrency', options.concurrency, 10);
    this.defaultTimeoutMs = positiveInt('defaultTimeoutMs', options.defaultTimeoutMs, 300_000);
    this.graceMs = positiveInt('shutdownGraceMs', options.shutdownGraceMs, 30_000);
    this.pollWaitSeconds = Math.min(60, positiveInt('pollWaitSeconds', options.pollWaitSeconds, 30));
    this.log = options.logger ?? defaultLogger();
    this.client = new OrchestratorClient(options.orchestratorUrl, options.apiKey);
    this.reporter = new Reporter(
      this.client,
      () => this.runnerId,
      positiveInt('reportBatchSize', options.reportBatchSize, 200),
      options.reportFlushMs ?? 0,
      this.log,
      () => this.wakeClaimLoop(),
    );
    this.stopped = new Promise((r) => {
      this.markStopped = r;
    });
  }

  get id(): string {
    return this.runnerId;
  }

  async start(): Promise<void> {
    if (this.options.handleSignals !== false) this.installSignalHandlers();
    this.registering = this.register();
    try {
      await this.registering;
    } catch (err) {
      if (this.stopping) return; // stopped before it could register: nothing to start
      throw err;
    }
    if (this.stopping) return; // stopped while registering: the stop deregisters
    this.scheduleHeartbeat(this.heartbeatMs);
    this.loops.push(this.claimLoop());
  }

  stop(): Promise<void> {
    this.stopping$ ??= this.shutdown().finally(() => {
      this.removeSignalHandlers();
      this.markStopped();
    });
    return this.stopping$;
  }

  private installSignalHandlers(): void {
    const exitCode = (signal: NodeJS.Signals) => 128 + (constants.signals[signal] ?? 15);
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        // A second signal: stop now (leases expire and the work is retried elsewhere).
        this.log.warn({ signal }, 'second signal: exiting now');
        process.exit(exitCode(signal));
      }
      signalled = true;
      this.log.info({ signal }, 'stopping');
      void this.stop().then(() => {
        // Done: end the process as the signal would have without us, unless the program listens for it too. With
        // process.exit rather than the signal itself, so that 'exit' handlers still run (pino writes out the log
        // lines it buffered, the last of them 'stopped'); the exit code is the signal's, 128 + its number.
        if (process.listenerCount(signal) === 0) process.exit(exitCode(signal));
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    this.removeSignalHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
  }

  private async register(): Promise<void> {
    let delay = 250;
    const types = [...this.handlers.values()].map(declarationOf);
    for (;;) {
      if (this.stopping) throw new Error('the runner stopped before it registered');
      try {
        const reply = await this.client.register({
          ...(this.runnerId ? { id: this.runnerId } : {}),
          name: this.options.name ?? `${hostname()}-${process.pid}`,
          host: this.options.host ?? hostname(),
          types,
          capacity: this.concurrency,
          ...(this.options.queues?.length ? { queues: this.options.queues } : {}),
        });
        this.runnerId = reply.id;
        this.heartbeatMs = reply.heartbeatIntervalMs;
        this.log.info(
          {
            runnerId: this.runnerId,
            types: [...this.handlers.keys()],
            capacity: this.concurrency,
            queues: this.options.queues ?? 'all',
          },
          'registered',
        );
        return;
      } catch (err) {
        // A refusal of the registration itself (a bad schema, a key without the runner scope) will not heal.
        if (this.stopping || (err instanceof OrchestratorError && [400, 401, 403].includes(err.status)))
          throw err;
        this.log.warn(
          { err: (err as Error).message, retryInMs: delay },
          'orchestrator not answering; retrying',
        );
        await sleep(delay);
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  private scheduleHeartbeat(inMs: number): void {
    if (this.heartbeatsStopped) return;
    clearTimeout(this.heartbeatTimer);
    this.heartbeatDueAt = Date.now() + inMs;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.heartbeatInFlight = this.heartbeat().finally(() => {
        this.heartbeatInFlight = undefined;
        // Progress reported while this one was under way goes out within PROGRESS_FLUSH_MS, not a whole interval.
        this.scheduleHeartbeat(
          this.progress.size > 0 ? Math.min(this.heartbeatMs, PROGRESS_FLUSH_MS) : this.heartbeatMs,
        );
      });
    }, inMs);
  }

  /** A handler reported progress: make sure a heartbeat carries it within PROGRESS_FLUSH_MS. */
  private reportProgress(executionId: number, value: ProgressValue): void {
    this.progress.set(executionId, value);
    if (this.heartbeatInFlight || !this.heartbeatTimer) return; // the next one is scheduled when this one ends
    const at = Math.max(Date.now(), this.lastHeartbeatAt + PROGRESS_FLUSH_MS);
    if (at < this.heartbeatDueAt) this.scheduleHeartbeat(at - Date.now());
  }

  /**
   * No heartbeat may reach the orchestrator after the deregistration: a heartbeat marks an OFFLINE runner ONLINE
   * again (a partitioned runner coming back), so a late one would resurrect this stopped runner.
   */
  private async stopHeartbeats(): Promise<void> {
    this.heartbeatsStopped = true;
    clearTimeout(this.heartbeatTimer);
    await this.heartbeatInFlight;
  }

  private async heartbeat(): Promise<void> {
    this.lastHeartbeatAt = Date.now();
    for (const id of this.progress.keys()) if (!this.running.has(id)) this.progress.delete(id);
    const progress = new Map(this.progress);
    // Everything held: running, and finished but not yet reported (the orchestrator renews what is listed).
    const held = [...this.running.keys(), ...this.reporter.pendingIds()];
    try {
      let reply: HeartbeatReply;
      try {
        reply = await this.client.heartbeat(this.runnerId, {
          running: held,
          ...(progress.size > 0 ? { progress: Object.fromEntries(progress) } : {}),
        });
      } catch (err) {
        if (!(err instanceof OrchestratorError && err.refused && progress.size > 0)) throw err;
        // Progress the orchestrator refuses must not cost the leases: drop it and send the heartbeat without it.
        this.log.warn({ err: err.message }, 'progress refused; dropped');
        this.progress.clear();
        progress.clear();
        reply = await this.client.heartbeat(this.runnerId, { running: held });
      }
      for (const [id, value] of progress) if (this.progress.get(id) === value) this.progress.delete(id);
      for (const id of reply.cancel) {
        const r = this.running.get(id);
        if (r) {
          this.log.warn({ executionId: id, jobId: r.execution.jobId }, 'orchestrator says abort: cancelling');
          r.abort('cancelled');
        }
      }
      if (reply.drain && !this.stopping) {
        this.log.info({ runnerId: this.runnerId }, 'orchestrator asked to drain');
        void this.stop();
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
      // Reports waiting for an answer count too, past as many as run at once. A busy orchestrator can answer claims
      // sooner than batches of reports (at most 1,000 a request, one request at a time): without this bound the
      // runner kept claiming and held ever more finished work, in memory and in every heartbeat, which lists at most
      // 10,000 (`pnpm bench --scenario soak`, busy machine: up to 11,000 held by 2 runners of 500).
      const unanswered = Math.max(0, this.reporter.waiting - this.concurrency);
      const free = this.concurrency - this.running.size - unanswered;
      if (free <= 0) {
        await new Promise<void>((r) => {
          this.slotFreed = r;
        });
        continue;
      }
      try {
        const executions = await this.client.nextJobs(
          this.runnerId,
          free,
          this.pollWaitSeconds,
          this.pollAbort.signal,
        );
        errorDelay = 250;
        for (const e of executions) this.run(e);
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

  private run(e: ClaimedExecution): void {
    const r = execute(e, this.handlers.get(e.type), {
      defaultTimeoutMs: this.defaultTimeoutMs,
      logger: this.log,
      onProgress: (value) => this.reportProgress(e.id, value),
    });
    this.running.set(e.id, r);
    const startedAt = performance.now();
    this.hook('onStart', () => this.options.hooks?.onStart?.(e));
    this.log.debug(
      { executionId: e.id, jobId: e.jobId, type: e.type, attempt: e.attempt },
      'execution started',
    );
    void r.done.then((outcome) => {
      this.running.delete(e.id);
      this.progress.delete(e.id);
      this.reporter.report(e.id, outcome);
      this.hook('onFinish', () =>
        this.options.hooks?.onFinish?.(e, outcome, (performance.now() - startedAt) / 1000),
      );
      if (outcome.status !== 'SUCCEEDED') {
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
      this.wakeClaimLoop();
    });
  }

  /** A slot may have freed (an execution finished, or reports were answered): the claim loop looks again. */
  private wakeClaimLoop(): void {
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  /** A hook that throws is logged; it must not stop the loop or lose an execution. */
  private hook(name: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.log.error({ err, hook: name }, 'a runner hook threw');
    }
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.pollAbort.abort();
    this.slotFreed?.();
    await this.registering?.catch(() => {});
    await Promise.allSettled(this.loops);
    if (!this.runnerId) {
      await this.client.close();
      return; // never registered: nothing to hand back
    }
    const inFlight = [...this.running.values()];
    this.log.info({ inFlight: inFlight.length, graceMs: this.graceMs }, 'stopping: finishing in-flight work');
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace-over'>((r) => {
      graceTimer = setTimeout(() => r('grace-over'), this.graceMs);
    });
    const all = Promise.allSettled(inFlight.map((r) => r.done)).then(() => 'done' as const);
    if ((await Promise.race([all, grace])) === 'grace-over') {
      this.log.warn({ aborted: this.running.size }, 'grace period over: aborting what is left');
      for (const r of this.running.values()) r.abort('shutdown');
      await all;
    }
    clearTimeout(graceTimer);
    // Keep heartbeating while reports drain, so no lease lapses in between.
    const reported = await this.reporter.drain(10_000);
    if (!reported) this.log.error({ pending: this.reporter.pending }, 'could not deliver every report');
    await this.stopHeartbeats();
    try {
      await this.client.deregister(this.runnerId, [...this.running.keys(), ...this.reporter.pendingIds()]);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'deregister failed; the orchestrator will mark us OFFLINE',
      );
    }
    await this.client.close();
    this.log.info({ runnerId: this.runnerId }, 'stopped');
  }
}
