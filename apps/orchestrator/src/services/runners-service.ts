import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBuiltinType, type RegisterRunnerBody } from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { AppError, badRequest, notFound } from '../errors.js';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import { runnerKeyId } from '../queue/api-keys.js';
import { declareJobTypes, type JobTypeDeclaration } from '../queue/declare-job-types.js';
import { drainRunner } from '../queue/drain-runner.js';
import { findRunner, listRunners } from '../queue/read-runners.js';
import { registerRunner } from '../queue/register-runner.js';
import type { ClaimDispatcher } from './claim-dispatcher.js';
import type { JobTypeCatalog } from './job-type-catalog.js';
import type { JobWaiters } from './job-waiters.js';
import { schemaHash, schemaProblem } from './payload-schemas.js';
import type { ReadySignal } from './ready-signal.js';

export interface RunnerTimings {
  leaseMs: number;
  heartbeatIntervalMs: number;
  maxWaitSeconds: number;
}

export class RunnersService {
  constructor(
    private readonly db: Db,
    private readonly lifecycle: JobLifecycle,
    private readonly claims: ClaimDispatcher,
    private readonly signal: ReadySignal,
    private readonly waiters: JobWaiters,
    private readonly timings: RunnerTimings,
    private readonly catalog: JobTypeCatalog,
    private readonly clockNow: () => number = Date.now,
    /** Tells the event sequencer that a committed transaction wrote events (runner.online, runner.draining). */
    private readonly eventsWritten: () => void = () => {},
  ) {}

  /**
   * Registers a runner under the caller's key. Re-registering an existing id (a restart) is allowed to the key
   * it was registered with, or an admin (`asAdmin`).
   */
  async register(body: RegisterRunnerBody, apiKeyId: number | null = null, asAdmin = true) {
    if (body.id && !asAdmin) {
      const owner = await runnerKeyId(this.db, body.id);
      if (owner !== undefined && owner !== apiKeyId) {
        throw new AppError('NOT_YOUR_RUNNER', `runner ${body.id} was registered with another key`);
      }
    }
    const { names, declarations, hashes } = readDeclarations(body.types);
    const id = body.id ?? randomUUID();
    const row = await this.db.transaction().execute(async (trx) => {
      const runner = await registerRunner(trx, {
        ...body,
        id,
        types: names,
        queues: body.queues ?? null,
        apiKeyId,
        schemaHashes: hashes,
      });
      await declareJobTypes(trx, id, declarations);
      return runner;
    });
    this.eventsWritten();
    await this.catalog.declared(declarations.map((d) => d.name));
    return {
      id: row.id,
      heartbeatIntervalMs: this.timings.heartbeatIntervalMs,
      leaseMs: this.timings.leaseMs,
      maxWaitSeconds: this.timings.maxWaitSeconds,
    };
  }

  async heartbeat(id: string, running: number[], progress?: Record<string, unknown>) {
    const hb = await this.lifecycle.heartbeat(id, running, this.timings.leaseMs, progress);
    if (!hb.found) throw notFound('runner', id);
    if (hb.released.length > 0) this.signal.announce([this.clockNow()]);
    return {
      cancel: hb.cancel,
      drain: hb.status === 'DRAINING',
      leaseExpiresAt: hb.leaseExpiresAt.toISOString(),
    };
  }

  /** Long-poll claim. A draining or offline runner gets nothing (it should finish up and deregister). */
  async nextJobs(id: string, max: number, waitSeconds: number, signal: AbortSignal) {
    const runner = await findRunner(this.db, id);
    if (!runner) throw notFound('runner', id);
    // A draining (or offline) runner gets nothing, after a heartbeat interval so that it does not spin on instant
    // 204s before its next heartbeat tells it to drain. Not after the whole wait (issue 10, defect 14): a runner
    // whose orchestrator was killed is silent until it fails over, and may be marked OFFLINE meanwhile (3 missed
    // intervals); its failover claim found it OFFLINE and slept the whole long-poll (30 s) although the heartbeat
    // just after made it ONLINE again. Now it claims again at most an interval later, and is served.
    if (runner.status !== 'ONLINE') {
      const waitMs = Math.min(waitSeconds, this.timings.maxWaitSeconds) * 1000;
      await abortableSleep(Math.min(waitMs, this.timings.heartbeatIntervalMs), signal);
      return [];
    }
    return this.claims.claim({
      runnerId: id,
      types: runner.types,
      queues: runner.queues,
      max: Math.min(max, runner.capacity),
      waitMs: Math.min(waitSeconds, this.timings.maxWaitSeconds) * 1000,
      signal,
    });
  }

  /** Executions claimed for a runner that never received them go back to the queue (same attempt). */
  async giveBack(id: string, executionIds: number[]) {
    await this.lifecycle.release(id, executionIds);
    this.signal.announce([this.clockNow()]);
  }

  async deregister(id: string, started: number[] | undefined) {
    const result = await this.lifecycle.deregister(id, started);
    if (!result) throw notFound('runner', id);
    // Released executions are claimable again, and abandoned ones free their room in limited queues.
    this.signal.announce([
      ...(result.released.length || result.abandoned.length ? [this.clockNow()] : []),
      ...result.retries.filter((r) => r.ready).map((r) => r.scheduled_for.getTime()),
    ]);
    // Jobs that ended with it (a dead letter, dependents it cancelled): their GET /jobs/{id}?wait= answers now.
    this.waiters.changed([...result.abandonedJobs, ...result.cancelledDependents]);
    return { abandoned: result.abandoned, released: result.released };
  }

  async drain(id: string) {
    if (!(await drainRunner(this.db, id))) {
      if (await findRunner(this.db, id)) throw new AppError('RUNNER_OFFLINE', `runner ${id} is offline`);
      throw notFound('runner', id);
    }
    this.eventsWritten();
  }

  list(includeOffline: boolean) {
    return listRunners(this.db, includeOffline);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).then(
    () => {},
    () => {},
  );
}

/**
 * The type names a registration serves, and what it declares about its custom types: each schema checked (size,
 * depth, compiles) and hashed. A built-in name may be served, but its schema and retry settings are the built-in
 * ones: what a runner declares for it is ignored.
 */
function readDeclarations(types: RegisterRunnerBody['types']) {
  const names: string[] = [];
  const declarations: JobTypeDeclaration[] = [];
  const hashes: Record<string, string> = {};
  types.forEach((t, i) => {
    const d = typeof t === 'string' ? { type: t } : t;
    names.push(d.type);
    if (isBuiltinType(d.type)) return;
    let hash: string | null = null;
    if (d.payloadSchema) {
      const problem = schemaProblem(d.payloadSchema);
      if (problem) throw badRequest(`types.${i}.payloadSchema`, problem);
      hash = schemaHash(d.payloadSchema);
      hashes[d.type] = hash;
    }
    declarations.push({
      name: d.type,
      payload_schema: d.payloadSchema ?? null,
      schema_hash: hash,
      max_attempts: d.retry?.maxAttempts ?? null,
      backoff: d.retry?.backoff ?? null,
    });
  });
  return { names, declarations, hashes };
}
