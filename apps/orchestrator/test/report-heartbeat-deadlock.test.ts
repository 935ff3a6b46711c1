import pg from 'pg';
import { expect, test } from 'vitest';
import { claim, createJobs, eventually, orchestratorPerFile, registerRunner, succeeded } from './helpers.js';

/**
 * A runner's report and its heartbeat lock the same executions (the heartbeat lists what was finished but not yet
 * reported). `pnpm chaos` saw them deadlock: the report locked its executions in the order the runner sent them,
 * the heartbeat in the order its index scan met them; PostgreSQL broke the circle by failing one, a 500 to the
 * runner. Both now lock in id order. The circle is set up by hand: another session holds the middle execution,
 * the report (ids 3, 2, 1) takes 3 and queues for 2, the heartbeat (1, 2, 3) takes 1 and queues behind it.
 */
const o = orchestratorPerFile();

test('a report and a heartbeat over the same executions do not deadlock, whatever order the runner sends', async () => {
  const runner = await registerRunner(o, { types: ['noop'] });
  await createJobs(o, [{ type: 'noop' }, { type: 'noop' }, { type: 'noop' }]);
  const ids = (await claim(o, runner, { max: 3 })).map((e) => e.id).sort((a, b) => a - b);
  expect(ids).toHaveLength(3);

  const blocker = new pg.Client({ connectionString: o.database.url });
  // Its own session: pg_stat_activity stays the same within a transaction, such as the blocker's.
  const observer = new pg.Client({ connectionString: o.database.url });
  await Promise.all([blocker.connect(), observer.connect()]);
  try {
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM executions WHERE id = $1 FOR UPDATE', [ids[1]]);
    const waiting = (text: string) =>
      eventually(`a statement containing '${text}' to wait on a lock`, async () => {
        const { rows } = await observer.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
          [text],
        );
        return rows.length > 0 ? true : undefined;
      });

    // inject() is lazy until awaited: Promise.resolve sends it now.
    const report = Promise.resolve(
      o.app.inject({
        method: 'POST',
        url: '/executions/complete',
        payload: {
          runnerId: runner,
          results: [...ids].reverse().map((id) => ({ executionId: id, outcome: succeeded() })),
        },
      }),
    );
    await waiting('jsonb_to_recordset');
    const beat = Promise.resolve(
      o.app.inject({ method: 'POST', url: `/runners/${runner}/heartbeat`, payload: { running: ids } }),
    );
    await waiting('UPDATE runners');
    await blocker.query('COMMIT');

    const [reported, beaten] = await Promise.all([report, beat]);
    // Before the fix, one of the two was failed by PostgreSQL's deadlock detector: a 500 INTERNAL.
    expect(reported.statusCode, reported.body).toBe(200);
    expect(beaten.statusCode, beaten.body).toBe(200);
    expect(reported.json().results.map((r: { verdict: string }) => r.verdict)).toEqual([
      'recorded',
      'recorded',
      'recorded',
    ]);
  } finally {
    await Promise.all([blocker.end(), observer.end()]);
  }
});
