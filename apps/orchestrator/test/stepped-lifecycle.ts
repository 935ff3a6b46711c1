import { type FreshDatabase, freshDatabase } from '@hourglass/testkit/database';
import { afterAll, beforeAll } from 'vitest';
import { createDatabase, type DatabaseHandle, type Db } from '../src/db/database.js';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle.js';
import type { CompletionInput } from '../src/queue/complete-executions.js';
import { type NewJob, oneShotJob } from '../src/queue/insert-jobs.js';
import { registerRunner } from '../src/queue/register-runner.js';

/**
 * A JobLifecycle on a fresh database of its own, with no orchestrator loop beside it, acting at a clock the test
 * steps (`advance`), and one registered runner serving `type`. Set up and torn down around the test file.
 */
export interface SteppedLifecycle {
  readonly db: Db;
  readonly lifecycle: JobLifecycle;
  readonly runnerId: string;
  /** The time every statement acts at. */
  now(): Date;
  advance(ms: number): void;
  /** A one-shot job of the runner's type with plain settings, due now; `fields` override. */
  newJob(fields?: Partial<NewJob>): NewJob;
  /** The runner reports `status` for these executions (a failure says `boom`); `extra` overrides fields. */
  report(
    ids: number[],
    status: CompletionInput['status'],
    extra?: Partial<CompletionInput>,
  ): ReturnType<JobLifecycle['complete']>;
}

export function steppedLifecyclePerFile(opts: {
  type: string;
  start: string;
  runnerId: string;
}): SteppedLifecycle {
  let database: FreshDatabase | undefined;
  let handle: DatabaseHandle | undefined;
  let lifecycle: JobLifecycle | undefined;
  let now = new Date(opts.start);
  beforeAll(async () => {
    database = await freshDatabase();
    handle = createDatabase(database.url, { max: 6 });
    lifecycle = new JobLifecycle(handle.db, () => now);
    await registerRunner(handle.db, {
      id: opts.runnerId,
      name: 'stepped',
      host: 'test',
      types: [opts.type],
      capacity: 1000,
      apiKeyId: null,
      schemaHashes: {},
      queues: null,
    });
  });
  afterAll(async () => {
    await handle?.destroy();
    await database?.drop();
  });
  return {
    get db() {
      return handle!.db;
    },
    get lifecycle() {
      return lifecycle!;
    },
    runnerId: opts.runnerId,
    now: () => now,
    advance(ms) {
      now = new Date(now.getTime() + ms);
    },
    report: (ids, status, extra = {}) =>
      lifecycle!.complete(
        opts.runnerId,
        ids.map((id) => ({
          id,
          status,
          error: status === 'SUCCEEDED' ? null : 'boom',
          result: null,
          started_at: null,
          retryable: null,
          error_code: null,
          ...extra,
        })),
      ),
    newJob: (fields = {}) => oneShotJob(opts.type, fields),
  };
}
