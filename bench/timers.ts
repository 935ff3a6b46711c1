import { WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { ApiClient } from './http.js';
import { type Stack, sleep } from './stack.js';
import { type LatencySummary, summarize } from './stats.js';

export interface TimersOptions {
  timers: number;
  /** The due times are spread uniformly over this window… */
  spreadMs: number;
  /** …which opens this long after the timers are created. */
  leadMs: number;
  timeoutMs: number;
}

export interface TimersResult extends LatencySummary {
  delivered: number;
  duplicates: number;
  missing: number;
  early: number;
}

/**
 * Timer accuracy: `timers` webhook timers (jobs of type webhook with a `runAt`, so the due times can be spread
 * to the millisecond) due uniformly over `spreadMs`, against a receiver on 127.0.0.1 that answers 200 and
 * notes when each delivery arrived. Lateness = arrival (receiver clock) − due time (database clock); same
 * machine. Duplicates are deliveries beyond the first per Idempotency-Key; missing are timers never delivered.
 */
export async function runTimers(stack: Stack, opts: TimersOptions): Promise<TimersResult> {
  const receiver = await WebhookReceiver.start();
  const api = new ApiClient(stack.url, 8);
  try {
    const { rows } = await stack.db.query<{ ms: number }>(
      'SELECT (extract(epoch FROM now()) * 1000)::float8 AS ms',
    );
    const opensAt = rows[0]!.ms + opts.leadMs;
    const dueById = new Map<number, number>();
    const all = Array.from({ length: opts.timers }, (_, i) => ({
      type: 'webhook',
      payload: { url: `${receiver.url}/timer` },
      runAt: new Date(opensAt + Math.floor((i * opts.spreadMs) / opts.timers)).toISOString(),
    }));
    for (let i = 0; i < all.length; i += 1000) {
      const { jobs } = await api.post<{ jobs: { id: number; runAt: string }[] }>('/jobs/batch', {
        jobs: all.slice(i, i + 1000),
      });
      for (const j of jobs) dueById.set(j.id, Date.parse(j.runAt));
    }
    if (Date.now() > opensAt) throw new Error('timers: creating them took longer than the lead time');

    const deadline = opensAt + opts.spreadMs + opts.timeoutMs;
    while (new Set(receiver.deliveries.map((d) => d.key)).size < opts.timers && Date.now() < deadline) {
      stack.assertAlive();
      await sleep(100);
    }
    await sleep(2_000); // time for any duplicate to show up

    const firstByKey = new Map<string, number>();
    for (const d of receiver.deliveries) if (!firstByKey.has(d.key)) firstByKey.set(d.key, d.receivedAt);
    const lateness: number[] = [];
    let early = 0;
    for (const [id, due] of dueById) {
      const at = firstByKey.get(`timer-${id}`);
      if (at === undefined) continue;
      lateness.push(at - due);
      if (at < due) early++;
    }
    return {
      ...summarize(lateness),
      delivered: firstByKey.size,
      duplicates: receiver.deliveries.length - firstByKey.size,
      missing: opts.timers - firstByKey.size,
      early,
    };
  } finally {
    await api.close();
    await receiver.close();
  }
}
