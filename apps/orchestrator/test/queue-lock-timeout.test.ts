import pg from 'pg';
import { expect, test } from 'vitest';
import {
  claim,
  completeBatch,
  createJobs,
  orchestratorPerFile,
  registerRunner,
  succeeded,
} from './helpers.js';

/**
 * A claim waits at most lock_timeout (2 s) for a limited queue's row: a queue whose row is held longer (a settings
 * change stuck behind something) is passed over for that claim, and the runner's other queues are claimed as usual.
 * (The claim's first statement locks a free limited queue itself and skips a held one, which is then locked, with
 * that wait, by a statement of its own; which queue the first statement picks is random, hence several rounds.)
 */

const o = orchestratorPerFile();

test('a limited queue whose row is held past lock_timeout is passed over; the runner gets its other queues', async () => {
  for (const name of ['lt-stuck', 'lt-free']) {
    const res = await o.app.inject({ method: 'PUT', url: `/queues/${name}`, payload: { concurrency: 5 } });
    expect(res.statusCode, res.body).toBe(200);
  }
  const runnerId = await registerRunner(o, { types: ['lt'], capacity: 10, queues: ['lt-stuck', 'lt-free'] });
  const stuck = await createJobs(
    o,
    [1, 2].map(() => ({ type: 'lt', queue: 'lt-stuck' })),
  );

  const holder = new pg.Client({ connectionString: o.database.url });
  await holder.connect();
  try {
    // Several rounds: which queue a claim locks first is random.
    for (let round = 0; round < 3; round++) {
      const free = await createJobs(
        o,
        [1, 2].map(() => ({ type: 'lt', queue: 'lt-free' })),
      );
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM queues WHERE name = 'lt-stuck' FOR UPDATE`);
      const startedAt = Date.now();
      const got = await claim(o, runnerId, { max: 10 });
      expect(Date.now() - startedAt).toBeLessThan(20_000);
      expect(got.map((e) => e.jobId).sort(), `round ${round} after ${Date.now() - startedAt} ms`).toEqual(
        free.map((j) => j.id).sort(),
      );
      await holder.query('ROLLBACK');
      await completeBatch(
        o,
        runnerId,
        got.map((e) => ({ executionId: e.id, outcome: succeeded() })),
      );
    }
    // Once the row is free, the stuck queue is served.
    const rest = await claim(o, runnerId, { max: 10 });
    expect(rest.map((e) => e.jobId).sort()).toEqual(stuck.map((j) => j.id).sort());
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end();
  }
}, 60_000);
