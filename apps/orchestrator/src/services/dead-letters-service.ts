import type { Db } from '../db/database.js';
import type { JobLifecycle } from '../lifecycle/job-lifecycle.js';
import { listDeadLetters } from '../queue/read-dead-letters.js';
import type { ReadySignal } from './ready-signal.js';

export class DeadLettersService {
  constructor(
    private readonly db: Db,
    private readonly lifecycle: JobLifecycle,
    private readonly signal: ReadySignal,
    /** Size bound of a list page (LIST_MAX_BYTES). */
    private readonly listMaxBytes: number,
  ) {}

  list(f: { includeRequeued: boolean; limit: number; cursor?: number }) {
    return listDeadLetters(this.db, f, this.listMaxBytes);
  }

  async requeue(id: number) {
    const execution = await this.lifecycle.requeue(id);
    this.signal.announce([execution.scheduled_for.getTime()]);
    return execution;
  }
}
