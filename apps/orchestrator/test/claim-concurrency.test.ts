import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claim, completeBatch, createJobs, registerRunner, rowCounts, succeeded } from './helpers.js';

/**
 * No execution is ever handed to two runners: many claimers at once over thousands of due executions, each
 * claim a batch (`max=25`) taken with FOR UPDATE SKIP LOCKED. Pattern from pg-boss' distributedDatabaseTest.
 */

const JOBS = 3_000;
const RUNNERS = 6;
const MAX = 25;

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator();
});
afterAll(() => stopTestOrchestrator(o));

test(`${RUNNERS} concurrent claimers take each of ${JOBS} due executions exactly once`, async () => {
  const jobs = await createJobs(
    o,
    Array.from({ length: JOBS }, (_, i) => ({ type: 'noop', payload: { i }, priority: i % 7 })),
  );
  expect(jobs).toHaveLength(JOBS);
  const runners = await Promise.all(
    Array.from({ length: RUNNERS }, (_, i) =>
      registerRunner(o, { name: `r${i}`, types: ['noop'], capacity: MAX }),
    ),
  );

  // Each runner claims until it gets nothing, completing every batch (as a runner does) before the next.
  const claimedBy = new Map<string, number[]>();
  const notRecorded: unknown[] = [];
  const bound = Math.ceil(JOBS / MAX) * 2 + 10;
  await Promise.all(
    runners.map(async (runnerId) => {
      const mine: number[] = [];
      claimedBy.set(runnerId, mine);
      for (let round = 0; round < bound; round++) {
        const batch = await claim(o, runnerId, { max: MAX });
        if (batch.length === 0) return;
        expect(batch.length).toBeLessThanOrEqual(MAX);
        mine.push(...batch.map((e) => e.id));
        const verdicts = await completeBatch(
          o,
          runnerId,
          batch.map((e) => ({ executionId: e.id, outcome: succeeded() })),
        );
        // Had another runner taken one of these too, one of the two reports would be a conflict.
        notRecorded.push(...verdicts.filter((v) => v.verdict !== 'recorded'));
      }
      throw new Error(`runner ${runnerId} still got work after ${bound} claims`);
    }),
  );

  const ids = [...claimedBy.values()].flat();
  expect(ids.length).toBe(JOBS);
  expect(new Set(ids).size).toBe(ids.length);
  expect(notRecorded).toEqual([]);
  // The work was really shared: more than one claimer got some (a serialised claim would still pass above).
  expect([...claimedBy.values()].filter((mine) => mine.length > 0).length).toBeGreaterThan(1);

  const counts = await o.db
    .selectFrom('executions')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  expect(Object.fromEntries(counts.map((c) => [c.status, Number(c.n)]))).toEqual({ SUCCEEDED: JOBS });
  expect(await rowCounts(o)).toMatchObject({ jobs: JOBS, executions: JOBS, dead_letters: 0 });

  // Each execution's recorded runner is the one it was handed to.
  const rows = await o.db.selectFrom('executions').select(['id', 'runner_id']).execute();
  const owner = new Map<number, string>();
  for (const [runnerId, mine] of claimedBy) for (const id of mine) owner.set(id, runnerId);
  expect(rows.every((r) => owner.get(r.id) === r.runner_id)).toBe(true);
});
