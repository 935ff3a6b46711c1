import type { Db } from '../db/database.js';
import { conflict, notFound } from '../http/errors.js';
import { listDeadLetters } from '../queue/read-dead-letters.js';
import { requeueDeadLetter } from '../queue/requeue-dead-letter.js';
import type { ReadySignal } from './ready-signal.js';

export class DeadLettersService {
  constructor(
    private readonly db: Db,
    private readonly signal: ReadySignal,
  ) {}

  list(f: { includeRequeued: boolean; limit: number; cursor?: number }) {
    return listDeadLetters(this.db, f);
  }

  async requeue(id: number) {
    const result = await this.db.transaction().execute((trx) => requeueDeadLetter(trx, id));
    if (result.kind === 'not_found') throw notFound('dead letter', id);
    if (result.kind === 'already_requeued')
      throw conflict('ALREADY_REQUEUED', `dead letter ${id} was already requeued`);
    if (result.kind === 'job_cancelled')
      throw conflict('JOB_CANCELLED', `the job of dead letter ${id} is cancelled`);
    if (result.kind === 'job_busy') {
      throw conflict(
        'JOB_STATE',
        `the job of dead letter ${id} already has a pending or running execution (it was triggered); requeueing would run it twice`,
      );
    }
    this.signal.announce([result.execution.scheduled_for.getTime()]);
    return result.execution;
  }
}
