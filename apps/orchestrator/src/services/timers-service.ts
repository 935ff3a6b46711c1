import { type CreateTimerBody, DEFAULT_QUEUE } from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { notFound } from '../errors.js';
import { readTimer } from '../queue/read-timer.js';
import type { JobsService } from './jobs-service.js';

/**
 * Timers are one-shot jobs of the built-in `webhook` type: "call this URL in h:m:s". Creating one goes through
 * the job path (validation, idempotency, one statement), so timers show up in `GET /jobs` and their attempts
 * in the execution history.
 */
export class TimersService {
  constructor(
    private readonly db: Db,
    private readonly jobs: JobsService,
  ) {}

  async create(body: CreateTimerBody, headerKey?: string) {
    const delaySeconds = body.hours * 3600 + body.minutes * 60 + body.seconds;
    const [result] = await this.jobs.create(
      [
        {
          type: 'webhook',
          payload: { url: body.url, payload: body.payload, headers: body.headers },
          delayMs: delaySeconds * 1000,
          priority: 0,
          queue: DEFAULT_QUEUE,
          maxAttempts: body.maxAttempts ?? 3,
          idempotencyKey: body.idempotencyKey,
          callbackUrl: body.callbackUrl,
        },
      ],
      // The timer body has url and headers at the top level, not under `payload`.
      { headerKey, fieldName: (field) => field.replace(/^payload\./, '') },
    );
    const { job, created } = result!;
    // A new timer's countdown is exactly what was asked (run_at and created_at share one now()); a replayed one
    // counts down from where it is.
    const timeLeft = created ? delaySeconds : ((await readTimer(this.db, job.id))?.time_left ?? 0);
    return { timer: { id: job.id, time_left: timeLeft }, created };
  }

  async get(id: number) {
    const row = await readTimer(this.db, id);
    if (!row) throw notFound('timer', id);
    return {
      id: row.id,
      time_left: row.time_left,
      url: row.url,
      status: row.status,
      fire_at: row.fire_at.toISOString(),
      fired_at: row.fired_at?.toISOString() ?? null,
      attempts: row.attempts,
      last_error: row.last_error,
    };
  }
}
