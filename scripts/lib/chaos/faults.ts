import { setTimeout as sleep } from 'node:timers/promises';
import { waitForHttp } from '@hourglass/devkit';
import type { Cluster, OrchestratorHandle, RunnerHandle } from '@hourglass/testkit/cluster';
import type { ChaosDatabase } from './database.js';

/** One fault the run caused, with what it needs to measure the recovery from it. */
export type FaultEvent =
  | {
      kind: 'runner';
      /** When the killed process was gone (epoch ms). */
      at: number;
      name: string;
      killedId: string;
      /** The id it registered under after the restart, and when that was seen. */
      restartedId?: string;
      restartedAt?: number;
      error?: string;
    }
  | { kind: 'orchestrator'; at: number; name: string; readyAt?: number; error?: string }
  | {
      kind: 'postgres';
      /** When the stop began, when the server accepted connections again, when both orchestrators were ready. */
      at: number;
      startedAt?: number;
      readyAt?: number;
      error?: string;
    };

/** One runner process's life under one registration: from its registration until its kill (if it was killed). */
export interface RunnerLife {
  id: string;
  name: string;
  from: number;
  to?: number;
}

export interface FaultPlan {
  runnerEveryMs: number;
  orchestratorEveryMs: number;
  /** When (ms after start) to stop PostgreSQL, and for how long; undefined: never (DATABASE_URL). */
  outageAtMs?: number;
  outageMs: number;
}

const RESTART_TIMEOUT_MS = 60_000;

/**
 * kill -9 of a runner every `runnerEveryMs` (round robin, each restarted at once), of an orchestrator every
 * `orchestratorEveryMs` (alternating, restarted at once on the same port), and one stop and start of PostgreSQL.
 * Every kill waits for the process to be gone; restarts run beside the schedule. Everything it does is recorded
 * in `events` and `lives`; `stop()` ends the schedule and waits for the restarts under way.
 */
export class FaultInjector {
  readonly events: FaultEvent[] = [];
  readonly lives: RunnerLife[] = [];
  private readonly busy = new Set<RunnerHandle | OrchestratorHandle>();
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private outage: { from: number; to?: number } | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly db: ChaosDatabase,
    private readonly plan: FaultPlan,
    private readonly say: (line: string) => void,
  ) {
    const now = Date.now();
    for (const r of cluster.runners) this.lives.push({ id: r.id, name: r.name, from: now });
  }

  start(): void {
    const t0 = Date.now();
    this.loops = [
      this.every(this.plan.runnerEveryMs, () => this.killRunner()),
      this.every(this.plan.orchestratorEveryMs, () => this.killOrchestrator()),
    ];
    if (this.plan.outageAtMs !== undefined) this.loops.push(this.postgresOutage(t0 + this.plan.outageAtMs));
  }

  /** The PostgreSQL outage as [stop began, both orchestrators ready again], once it happened. */
  get outageWindow(): { from: number; to: number } | undefined {
    return this.outage?.to === undefined ? undefined : { from: this.outage.from, to: this.outage.to };
  }

  get databaseDown(): boolean {
    return this.outage !== undefined && this.outage.to === undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.say('faults stopped; every killed process is back');
  }

  private async every(ms: number, fault: () => Promise<void>): Promise<void> {
    let next = Date.now() + ms;
    while (!this.stopped) {
      const wait = next - Date.now();
      if (wait > 0) await sleep(Math.min(wait, 200));
      if (this.stopped || Date.now() < next) continue;
      next += ms;
      await fault();
    }
  }

  private async killRunner(): Promise<void> {
    const n = this.cluster.runners.length;
    const start = this.events.filter((e) => e.kind === 'runner').length;
    const r = Array.from({ length: n }, (_, k) => this.cluster.runners[(start + k) % n]!).find(
      (x) => !this.busy.has(x),
    );
    if (!r) return; // all of them are still restarting
    this.busy.add(r);
    await r.process.kill9();
    const event: FaultEvent = { kind: 'runner', at: Date.now(), name: r.name, killedId: r.id };
    this.events.push(event);
    const life = this.lives.find((l) => l.id === r.id);
    if (life) life.to = event.at;
    this.background(r, async () => {
      await this.cluster.restartRunner(r, RESTART_TIMEOUT_MS);
      event.restartedId = r.id;
      event.restartedAt = Date.now();
      this.lives.push({ id: r.id, name: r.name, from: event.restartedAt });
    }).catch((err) => {
      event.error = String(err);
    });
  }

  private async killOrchestrator(): Promise<void> {
    // Not during the PostgreSQL outage: it could not start again (and the outage waits for restarts under way).
    if (this.databaseDown) return;
    const count = this.events.filter((e) => e.kind === 'orchestrator').length;
    const o = this.cluster.orchestrators[count % this.cluster.orchestrators.length]!;
    if (this.busy.has(o)) return;
    this.busy.add(o);
    await o.process.kill9();
    const event: FaultEvent = { kind: 'orchestrator', at: Date.now(), name: o.name };
    this.events.push(event);
    this.background(o, async () => {
      // A start can fail on a loaded machine (the readiness wait runs out): try again, a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.cluster.restartOrchestrator(o);
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
          await o.process.stop('SIGKILL');
        }
      }
      event.readyAt = Date.now();
    }).catch((err) => {
      event.error = String(err);
    });
  }

  private async postgresOutage(at: number): Promise<void> {
    while (!this.stopped && Date.now() < at) await sleep(Math.min(200, at - Date.now()));
    if (this.stopped) return;
    // An orchestrator still restarting could not start without its database: let it finish first.
    while ([...this.busy].some((b) => 'port' in b)) await sleep(100);
    this.outage = { from: Date.now() };
    const event: FaultEvent = { kind: 'postgres', at: this.outage.from };
    this.events.push(event);
    try {
      await this.db.stopServer();
      this.say(`PostgreSQL stopped; starting it again in ${this.plan.outageMs / 1000} s`);
      await sleep(this.plan.outageMs);
      await this.db.startServer();
      event.startedAt = Date.now();
      await Promise.all(
        this.cluster.orchestrators.map((o) => waitForHttp(`${o.url}/readyz`, RESTART_TIMEOUT_MS)),
      );
      event.readyAt = Date.now();
      this.say(`PostgreSQL back after ${((event.startedAt - event.at) / 1000).toFixed(1)} s`);
    } catch (err) {
      event.error = String(err);
    } finally {
      this.outage.to = event.readyAt ?? Date.now();
    }
  }

  private background(what: RunnerHandle | OrchestratorHandle, work: () => Promise<void>): Promise<void> {
    const p = work().finally(() => {
      this.busy.delete(what);
      this.pending.delete(p);
    });
    this.pending.add(p);
    return p;
  }
}
