import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RegisterRunnerBody } from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { runnerKeyId } from '../queue/api-keys.js';
import { deregisterRunner } from '../queue/deregister-runner.js';
import { drainRunner } from '../queue/drain-runner.js';
import { heartbeatRunner } from '../queue/heartbeat-runner.js';
import { findRunner, listRunners } from '../queue/read-runners.js';
import { registerRunner } from '../queue/register-runner.js';
import { retryOrDeadLetter } from '../queue/retry-or-dead-letter.js';
import type { ClaimDispatcher } from './claim-dispatcher.js';
import type { ReadySignal } from './ready-signal.js';

export interface RunnerTimings {
  leaseMs: number;
  heartbeatIntervalMs: number;
  maxWaitSeconds: number;
}

export class RunnersService {
  constructor(
    private readonly db: Db,
    private readonly claims: ClaimDispatcher,
    private readonly signal: ReadySignal,
    private readonly timings: RunnerTimings,
    private readonly clockNow: () => number = Date.now,
  ) {}

  /**
   * Registers a runner under the caller's key. Re-registering an existing id (a restart) is allowed to the key
   * it was registered with, or an admin (`asAdmin`).
   */
  async register(body: RegisterRunnerBody, apiKeyId: number | null = null, asAdmin = true) {
    if (body.id && !asAdmin) {
      const owner = await runnerKeyId(this.db, body.id);
      if (owner !== undefined && owner !== apiKeyId) {
        throw new AppError(403, 'NOT_YOUR_RUNNER', `runner ${body.id} was registered with another key`);
      }
    }
    const row = await registerRunner(this.db, { ...body, id: body.id ?? randomUUID(), apiKeyId });
    return {
      id: row.id,
      heartbeatIntervalMs: this.timings.heartbeatIntervalMs,
      leaseMs: this.timings.leaseMs,
      maxWaitSeconds: this.timings.maxWaitSeconds,
    };
  }

  async heartbeat(id: string, running: number[]) {
    const hb = await heartbeatRunner(this.db, id, running, this.timings.leaseMs);
    if (!hb.found) throw notFound('runner', id);
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
    // A draining (or offline) runner gets nothing, after the full wait so that it does not spin on instant
    // 204s before its next heartbeat tells it to drain.
    if (runner.status !== 'ONLINE') {
      await abortableSleep(Math.min(waitSeconds, this.timings.maxWaitSeconds) * 1000, signal);
      return [];
    }
    return this.claims.claim({
      runnerId: id,
      types: runner.types,
      max: Math.min(max, runner.capacity),
      waitMs: Math.min(waitSeconds, this.timings.maxWaitSeconds) * 1000,
      signal,
    });
  }

  async deregister(id: string, started: number[] | undefined) {
    const result = await this.db.transaction().execute(async (trx) => {
      const settled = await deregisterRunner(trx, id, started);
      return settled && { ...settled, retries: await retryOrDeadLetter(trx, settled.abandoned) };
    });
    if (!result) throw notFound('runner', id);
    this.signal.announce([
      ...(result.released.length ? [this.clockNow()] : []),
      ...result.retries.filter((r) => r.ready).map((r) => r.scheduled_for.getTime()),
    ]);
    return { abandoned: result.abandoned, released: result.released };
  }

  async drain(id: string) {
    if (!(await drainRunner(this.db, id))) {
      if (await findRunner(this.db, id)) throw new AppError(409, 'RUNNER_OFFLINE', `runner ${id} is offline`);
      throw notFound('runner', id);
    }
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
