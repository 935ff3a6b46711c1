import { setTimeout as sleep } from 'node:timers/promises';
import type { Execution, Job, Runner } from '@hourglass/contracts';
import { pickFreePort } from '@hourglass/local-postgres';
import { type ServiceProcess, spawnService, waitForHttp } from '../../scripts/lib/processes.js';
import { type FreshDatabase, freshDatabase } from '../helpers/database.js';

export const TERMINAL_JOB = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
export const FINAL_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);

export interface Reply<T> {
  status: number;
  body: T;
}

/**
 * One orchestrator process and any number of runner processes on a fresh database, talking over loopback:
 * the system as it runs for real. Every process it starts is stopped by `stop()`, which tests call from
 * afterAll/afterEach so that a failing test leaves nothing behind.
 */
export class Cluster {
  readonly processes: ServiceProcess[] = [];
  /** Every output line of every process, for the failure report. */
  readonly logs: string[] = [];
  url = '';
  private database: FreshDatabase | undefined;

  /** Starts the orchestrator on a fresh database and a free port, and waits until it is ready. */
  async start(orchestratorEnv: Record<string, string> = {}): Promise<void> {
    this.database = await freshDatabase();
    const port = await pickFreePort();
    this.url = `http://127.0.0.1:${port}`;
    const orchestrator = this.spawn('orchestrator', 'orchestrator', {
      DATABASE_URL: this.database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      MIGRATE_ON_START: 'false', // the fresh database is a clone of the migrated template
      ...orchestratorEnv,
    });
    await Promise.race([
      waitForHttp(`${this.url}/readyz`, 30_000),
      orchestrator.exited.then((code) => {
        throw new Error(`orchestrator exited during start (${code})\n${this.tail()}`);
      }),
    ]);
  }

  /** Starts a runner named `name` against the orchestrator; resolves with its runner id once it registered. */
  async startRunner(
    name: string,
    env: Record<string, string> = {},
  ): Promise<{ process: ServiceProcess; id: string }> {
    const runner = this.spawn('runner', name, {
      ORCHESTRATOR_URL: this.url,
      RUNNER_NAME: name,
      LOG_LEVEL: 'debug',
      ...env,
    });
    const id = await this.until(`runner ${name} to register`, async () => {
      if (runner.child.exitCode !== null)
        throw new Error(`runner ${name} exited during start\n${this.tail()}`);
      const { body } = await this.get<{ items: Runner[] }>('/runners?includeOffline=true');
      return body.items.find((r) => r.name === name)?.id;
    });
    return { process: runner, id };
  }

  async stop(): Promise<void> {
    // Runners first, so that their last reports and deregistrations still find the orchestrator.
    const byKind = (kind: string) => this.processes.filter((p) => p.kind === kind);
    await Promise.all(byKind('runner').map((p) => p.stop('SIGTERM', 5_000)));
    await Promise.all(byKind('orchestrator').map((p) => p.stop('SIGTERM', 5_000)));
    await this.database?.drop();
    this.database = undefined;
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply<T>> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  get<T>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  /** Creates jobs in one batch request; the reply keeps the order of `jobs`. */
  async createJobs(jobs: Record<string, unknown>[]): Promise<Job[]> {
    const { status, body } = await this.request<{ jobs: Job[] }>('POST', '/jobs/batch', { jobs });
    if (status !== 201) throw new Error(`POST /jobs/batch answered ${status}: ${JSON.stringify(body)}`);
    return body.jobs;
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
    const service = spawnService(kind, name, env, (n, line) => {
      this.logs.push(`[${n}] ${line}`);
      if (process.env.E2E_LOG) console.log(`[${n}] ${line}`);
    });
    this.processes.push(service);
    return service;
  }
}
