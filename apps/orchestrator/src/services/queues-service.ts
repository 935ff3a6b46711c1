import type { Queue, QueueSettingsBody } from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { notFound } from '../errors.js';
import {
  configureQueue,
  type QueueRow,
  type QueueWithCounts,
  readQueues,
  setQueuePaused,
} from '../queue/queue-settings.js';
import { recordEvents } from '../queue/record-events.js';
import type { ReadySignal } from './ready-signal.js';

/** Each live count of GET /queues stops here: the counts cost a bounded walk of an index, whatever the backlog. */
export const COUNT_CAP = 100_000;
/** Queues one GET /queues answer lists, by name. */
export const QUEUE_LIST_MAX = 1_000;

/** Queues (issue 14): settings, pause and resume, and what each holds. */
export class QueuesService {
  constructor(
    private readonly db: Db,
    private readonly signal: ReadySignal,
    private readonly clockNow: () => number = Date.now,
    /** Events were written outside the lifecycle: the sequencer numbers them (see EventSequencer.poke). */
    private readonly eventsWritten: () => void = () => {},
  ) {}

  async configure(name: string, body: QueueSettingsBody): Promise<Queue> {
    await this.db.transaction().execute(async (trx) => {
      const row = await configureQueue(trx, name, {
        concurrency: body.concurrency ?? null,
        per_key_concurrency: body.perKeyConcurrency ?? null,
        rate_limit: body.rateLimit?.limit ?? null,
        rate_period_ms: body.rateLimit?.periodMs ?? null,
        rate_per_key: body.rateLimit?.perKey ?? false,
      });
      const { name: queue, ...limits } = settings(row);
      await recordEvents(trx, [{ kind: 'queue.configured', data: { queue, ...limits } }]);
    });
    this.eventsWritten();
    // Limits raised or removed: what waited on them may be claimable now.
    this.signal.announce([this.clockNow()]);
    return this.get(name);
  }

  async setPaused(name: string, paused: boolean): Promise<Queue> {
    await this.db.transaction().execute(async (trx) => {
      const row = await setQueuePaused(trx, name, paused);
      await recordEvents(trx, [
        { kind: paused ? 'queue.paused' : 'queue.resumed', data: { queue: row.name } },
      ]);
    });
    this.eventsWritten();
    // Resumed: wake the runners waiting, here and on every replica (the usual ready signal).
    if (!paused) this.signal.announce([this.clockNow()]);
    return this.get(name);
  }

  async get(name: string): Promise<Queue> {
    const [row] = await readQueues(this.db, { name, limit: 1, cap: COUNT_CAP });
    if (!row) throw notFound('queue', name);
    return toQueue(row);
  }

  async list(): Promise<{ items: Queue[]; truncated: boolean }> {
    const rows = await readQueues(this.db, { limit: QUEUE_LIST_MAX + 1, cap: COUNT_CAP });
    return { items: rows.slice(0, QUEUE_LIST_MAX).map(toQueue), truncated: rows.length > QUEUE_LIST_MAX };
  }
}

function toQueue(row: QueueWithCounts): Queue {
  return {
    ...settings(row),
    counts: { due: row.due, running: row.running, scheduled: row.scheduled, failed: row.failed },
    countsCapped: [row.due, row.running, row.scheduled, row.failed].some((n) => n >= COUNT_CAP),
    updatedAt: row.updated_at.toISOString(),
  };
}

function settings(row: QueueRow) {
  return {
    name: row.name,
    paused: row.paused,
    concurrency: row.concurrency,
    perKeyConcurrency: row.per_key_concurrency,
    rateLimit:
      row.rate_limit === null || row.rate_period_ms === null
        ? null
        : { limit: row.rate_limit, periodMs: row.rate_period_ms, perKey: row.rate_per_key },
  };
}
