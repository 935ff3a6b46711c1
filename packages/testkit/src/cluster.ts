import { setTimeout as sleep } from 'node:timers/promises';
import type { Execution, Job, Runner } from '@hourglass/contracts';
import { listeningPort, type ServiceProcess, spawnService, waitForHttp } from '@hourglass/devkit';
import type { FreshDatabase } from './database.js';

/**
 * How long a service process may take from spawn to ready (an orchestrator) or registered (a runner). It is
 * normally 1–3 s; with two CI runs side by side on two cores (the busy run .ci/run must also pass), compiling a
 * runner's TypeScript on start took over 20 s.
 */
const SERVICE_START_MS = 60_000;

export const TERMINAL_JOB = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
export const FINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

export interface Reply<T> {
  status: number;
  body: T;
}

/** An orchestrator process of the cluster; `restart` brings it back on the same port, so runners find it. */
export interface OrchestratorHandle {
  name: string;
  url: string;
  port: number;
  env: Record<string, string>;
  process: ServiceProcess;
}

/** A runner process of the cluster, with the id it registered under and the orchestrator it talks to. */
export interface RunnerHandle {
  name: string;
  id: string;
  orchestratorUrl: string;
  env: Record<string, string>;
  process: ServiceProcess;
}

/**
 * Orchestrator processes (one, or several replicas on ONE database) and any number of runner processes on a
 * fresh database, talking over loopback: the system as it runs for real. Runners are spread over the
 * orchestrators. Processes can be killed with -9 and started again on the same database and ports. Every
 * process it starts is stopped by `stop()`, which tests call from afterAll/afterEach so that a failing test
 * leaves nothing behind.
 */
export class Cluster {
  readonly processes: ServiceProcess[] = [];
  readonly orchestrators: OrchestratorHandle[] = [];
  readonly runners: RunnerHandle[] = [];
  /** Every output line of every process (the last `maxLogLines` of them), for the failure report. */
  readonly logs: string[] = [];
  /** The first orchestrator's base URL; requests go there unless told otherwise. */
  url = '';
  /** Sent with every request (e.g. an API key, for a cluster with authentication on). */
  headers: Record<string, string> = {};
  private database: FreshDatabase | undefined;
  private orchestratorEnv: Record<string, string> = {};
  /** Every id each runner (by name) has registered under. */
  private readonly runnerIds = new Map<string, Set<string>>();

  constructor(
    private readonly opts: {
      /** Also receives every output line (a program watching the processes, e.g. pnpm chaos). */
      onLine?: (name: string, line: string) => void;
      /** Keeps only this many of the last lines in `logs` (a long run prints more than a test should hold). */
      maxLogLines?: number;
    } = {},
  ) {}

  /**
   * Starts `orchestrators` (1 by default) orchestrator replicas on a fresh database (or on `database`, already
   * migrated, which `stop()` then drops), each on a free port, and waits until they are ready.
   */
  async start(
    orchestratorEnv: Record<string, string> = {},
    opts: { orchestrators?: number; database?: FreshDatabase } = {},
  ) {
    // Imported here: it needs vitest's global setup, which a program using a database of its own does not have.
    this.database = opts.database ?? (await (await import('./database.js')).freshDatabase());
    this.orchestratorEnv = orchestratorEnv;
    await Promise.all(Array.from({ length: opts.orchestrators ?? 1 }, () => this.startOrchestrator()));
  }

  /** Adds an orchestrator replica on the cluster's database (env: the cluster's, then `env`). */
  async startOrchestrator(env: Record<string, string> = {}): Promise<OrchestratorHandle> {
    if (!this.database) throw new Error('start() the cluster first');
    const handle: OrchestratorHandle = {
      name: `orchestrator-${this.orchestrators.length + 1}`,
      url: '', // known once it listens
      port: 0,
      env: {
        DATABASE_URL: this.database.url,
        PORT: '0', // the kernel picks one as it binds; bootOrchestrator reads which
        HOST: '127.0.0.1',
        MIGRATE_ON_START: 'false', // the fresh database is a clone of the migrated template
        AUTH_DISABLED: 'true', // authentication has its own tests
        ...this.orchestratorEnv,
        ...env,
      },
      process: undefined as unknown as ServiceProcess,
    };
    this.orchestrators.push(handle);
    await this.bootOrchestrator(handle);
    if (this.orchestrators[0] === handle) this.url = handle.url;
    return handle;
  }

  /** Starts `o` again (after a kill) on the same port and database; waits until it is ready. */
  async restartOrchestrator(o: OrchestratorHandle): Promise<void> {
    if (o.process.child.exitCode === null && o.process.child.signalCode === null) {
      throw new Error(`${o.name} is still running`);
    }
    await this.bootOrchestrator(o);
  }

  /** kill -9 of every orchestrator (no shutdown code runs); resolves once they are gone. */
  async killOrchestrators(): Promise<void> {
    await Promise.all(this.orchestrators.map((o) => o.process.kill9()));
  }

  async restartOrchestrators(): Promise<void> {
    await Promise.all(this.orchestrators.map((o) => this.restartOrchestrator(o)));
  }

  /** kill -9 of every runner; resolves once they are gone. */
  async killRunners(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.process.kill9()));
  }

  /**
   * Starts every runner again (after a kill) with its name, settings and orchestrator; each registers anew
   * (a new id, as a restarted container would). Resolves once all have registered.
   */
  async restartRunners(): Promise<void> {
    await Promise.all(this.runners.map((r) => this.restartRunner(r)));
  }

  /** Starts runner `r` again (after a kill); resolves once it has registered anew (within `timeoutMs`). */
  async restartRunner(r: RunnerHandle, timeoutMs = SERVICE_START_MS): Promise<void> {
    if (r.process.child.exitCode === null && r.process.child.signalCode === null) {
      throw new Error(`runner ${r.name} is still running`);
    }
    r.process = this.spawn('runner', r.name, r.env);
    r.id = await this.registered(r, timeoutMs);
  }

  /**
   * Starts `o` and waits until it is ready. The port is the one this very process says it bound (see
   * listeningPort), then kept (env.PORT) so that a restart comes back on it and its runners find it again.
   */
  private async bootOrchestrator(o: OrchestratorHandle): Promise<void> {
    const proc = this.spawn('orchestrator', o.name, o.env);
    o.process = proc;
    const exited = proc.exited.then((code) => {
      throw new Error(`${o.name} exited during start (${code})\n${this.tail()}`);
    });
    exited.catch(() => {}); // handled by the races below; not an unhandled rejection once it is ready
    o.port = await Promise.race([listeningPort(proc, SERVICE_START_MS), exited]);
    o.url = `http://127.0.0.1:${o.port}`;
    o.env.PORT = String(o.port);
    await Promise.race([waitForHttp(`${o.url}/readyz`, SERVICE_START_MS), exited]);
  }

  /**
   * Starts a runner named `name`; resolves with its runner id once it registered. It talks to orchestrator
   * `opts.orchestrator` (an index), by default to the next one in turn, so runners spread over the replicas.
   */
  async startRunner(
    name: string,
    env: Record<string, string> = {},
    opts: { orchestrator?: number } = {},
  ): Promise<RunnerHandle> {
    const o = this.orchestrators[(opts.orchestrator ?? this.runners.length) % this.orchestrators.length];
    if (!o) throw new Error('start() the cluster first');
    const fullEnv = { ORCHESTRATOR_URL: o.url, RUNNER_NAME: name, LOG_LEVEL: 'debug', ...env };
    const handle: RunnerHandle = {
      name,
      id: '',
      // ORCHESTRATOR_URL may list several replicas (the runner fails over); GET /runners goes to the first.
      orchestratorUrl: fullEnv.ORCHESTRATOR_URL.split(',')[0]!,
      env: fullEnv,
      process: this.spawn('runner', name, fullEnv),
    };
    this.runners.push(handle);
    handle.id = await this.registered(handle);
    return handle;
  }

  /**
   * Waits until runner `r` shows up in GET /runners under an id it has not registered under before (a restart
   * registers anew; the earlier registrations stay listed, OFFLINE): asked of its orchestrator, or of the other
   * replicas while that one cannot answer (killed, say).
   */
  private async registered(r: RunnerHandle, timeoutMs = SERVICE_START_MS): Promise<string> {
    const urls = [
      r.orchestratorUrl,
      ...this.orchestrators.map((o) => o.url).filter((u) => u !== r.orchestratorUrl),
    ];
    const known = this.runnerIds.get(r.name) ?? new Set<string>();
    const id = await this.until(
      `runner ${r.name} to register`,
      async () => {
        if (r.process.child.exitCode !== null) {
          throw new Error(`runner ${r.name} exited during start\n${this.tail()}`);
        }
        for (const url of urls) {
          const reply = await this.get<{ items: Runner[] }>('/runners?includeOffline=true', url).catch(
            () => undefined,
          );
          if (reply?.status !== 200) continue;
          return reply.body.items.find((x) => x.name === r.name && !known.has(x.id))?.id;
        }
        return undefined;
      },
      timeoutMs,
    );
    this.runnerIds.set(r.name, known.add(id));
    return id;
  }

  async stop(): Promise<void> {
    // Runners first, so that their last reports and deregistrations still find the orchestrator.
    const byKind = (kind: string) => this.processes.filter((p) => p.kind === kind);
    await Promise.all(byKind('runner').map((p) => p.stop('SIGTERM', 5_000)));
    await Promise.all(byKind('orchestrator').map((p) => p.stop('SIGTERM', 5_000)));
    await this.database?.drop();
    this.database = undefined;
  }

  /** One JSON request to the first orchestrator, or to `via` (another replica's base URL). */
  async request<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    opts: { via?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const res = await fetch(`${opts.via ?? this.url}${path}`, {
      method,
      headers: {
        ...this.headers,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...opts.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  get<T>(path: string, via?: string): Promise<Reply<T>> {
    return this.request<T>('GET', path, undefined, { via });
  }

  /** Creates jobs in one batch request; the reply keeps the order of `jobs`. */
  async createJobs(jobs: Record<string, unknown>[]): Promise<Job[]> {
    const { status, body } = await this.request<{ jobs: Job[] }>('POST', '/jobs/batch', { jobs });
    if (status !== 201) throw new Error(`POST /jobs/batch answered ${status}: ${JSON.stringify(body)}`);
    return body.jobs;
  }

  /** The job once it is final (`GET /jobs/{id}?wait=20`, up to three times), through `via` or the first replica. */
  async finalJob(id: number, via?: string): Promise<Job> {
    for (let i = 0; i < 3; i++) {
      const { body } = await this.get<Job>(`/jobs/${id}?wait=20`, via);
      if (TERMINAL_JOB.has(body.status)) return body;
    }
    throw new Error(`job ${id} did not finish within a minute\n${this.tail()}`);
  }

  /** Creates a job with POST /jobs and answers it once final: create-and-wait, as a client does it. */
  async runToEnd(job: Record<string, unknown>, via?: string): Promise<Job> {
    const created = await this.request<Job>('POST', '/jobs', job);
    if (created.status !== 201)
      throw new Error(`POST /jobs answered ${created.status}: ${JSON.stringify(created.body)}`);
    return this.finalJob(created.body.id, via);
  }

  async jobs(): Promise<Job[]> {
    const { body } = await this.get<{ items: Job[]; nextCursor: number | null }>('/jobs?limit=500');
    if (body.nextCursor !== null) throw new Error('more than 500 jobs: page through them');
    return body.items;
  }

  /** Every execution of `jobId`, oldest attempt first. */
  async executions(jobId: number): Promise<Execution[]> {
    const { body } = await this.get<{ items: Execution[] }>(`/jobs/${jobId}/executions?limit=500`);
    return [...body.items].sort((a, b) => a.attempt - b.attempt);
  }

  async activeExecutions(): Promise<Execution[]> {
    return (await this.get<{ items: Execution[] }>('/executions/active')).body.items;
  }

  /** Waits (bounded) until every job has reached SUCCEEDED, FAILED or CANCELLED; answers them. */
  async allTerminal(count: number, timeoutMs = 25_000): Promise<Job[]> {
    return this.until(
      `all ${count} jobs to finish`,
      async () => {
        const jobs = await this.jobs();
        return jobs.length === count && jobs.every((j) => TERMINAL_JOB.has(j.status)) ? jobs : undefined;
      },
      timeoutMs,
    );
  }

  /** Polls `probe` every 50 ms until it answers something other than undefined; throws after `timeoutMs`. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  }

  /** The last lines the processes printed. */
  tail(lines = 80): string {
    return this.logs.slice(-lines).join('\n');
  }

  private spawn(kind: 'orchestrator' | 'runner', name: string, env: Record<string, string>): ServiceProcess {
    const max = this.opts.maxLogLines ?? Number.POSITIVE_INFINITY;
    const service = spawnService(kind, name, env, (n, line) => {
      this.logs.push(`[${n}] ${line}`);
      // Trimmed in chunks, so a long run does not shift the array on every line.
      if (this.logs.length > 2 * max) this.logs.splice(0, this.logs.length - max);
      if (process.env.E2E_LOG) console.log(`[${n}] ${line}`);
      this.opts.onLine?.(n, line);
    });
    this.processes.push(service);
    return service;
  }
}
