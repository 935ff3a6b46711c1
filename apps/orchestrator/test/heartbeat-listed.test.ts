import { sql } from 'kysely';
import { expect, test } from 'vitest';
import {
  claim,
  createJobs,
  getExecution,
  heartbeat,
  orchestratorPerFile,
  registerRunner,
} from './helpers.js';

/**
 * A heartbeat renews the leases of what the runner lists, and only those (issue 10, defect 1): what it holds but
 * no longer lists goes back to the queue (or is cancelled, if its job was) and comes back in `cancel`.
 */

const o = orchestratorPerFile();

const execution = (id: number) => getExecution(o, id);

/** Pretends `ids` were claimed `seconds` ago (the claim and a heartbeat that crossed it are seconds apart). */
const claimedAgo = (ids: number[], seconds: number) =>
  sql`UPDATE executions SET claimed_at = now() - ${seconds} * interval '1 second' WHERE id = ANY(${ids}::bigint[])`.execute(
    o.db,
  );

test('only listed leases are renewed; an unlisted execution is released with its attempt and told to cancel', async () => {
  const runner = await registerRunner(o, { types: ['listed-a'] });
  await createJobs(o, [{ type: 'listed-a' }, { type: 'listed-a' }, { type: 'listed-a' }]);
  const [kept, lost, fresh] = await claim(o, runner, { max: 3 });
  await claimedAgo([kept!.id, lost!.id], 10);
  const leaseBefore = (await execution(lost!.id)).leaseExpiresAt;

  const hb = await heartbeat(o, runner, [kept!.id]);

  // The listed one: renewed, kept.
  const k = await execution(kept!.id);
  expect(k.status).toBe('RUNNING');
  expect(Date.parse(k.leaseExpiresAt!)).toBeGreaterThan(Date.parse(leaseBefore!));
  // The unlisted one claimed 10 s ago: back to PENDING, same attempt, no runner; and in `cancel`.
  const l = await execution(lost!.id);
  expect(l).toMatchObject({ status: 'PENDING', attempt: 1, runnerId: null, leaseExpiresAt: null });
  expect(hb.cancel).toContain(lost!.id);
  // The unlisted one claimed just now may still be on its way to the runner: left alone.
  expect((await execution(fresh!.id)).status).toBe('RUNNING');
  expect(hb.cancel).not.toContain(fresh!.id);
  // The released execution is claimable again, by anyone.
  const again = await claim(o, runner, { max: 3 });
  expect(again.map((e) => e.id)).toEqual([lost!.id]);
});

test('an unlisted execution of a cancelled job is cancelled, never put back in the queue', async () => {
  const runner = await registerRunner(o, { types: ['listed-b'] });
  const [job] = await createJobs(o, [{ type: 'listed-b' }]);
  const [e] = await claim(o, runner, { max: 1 });
  expect((await o.app.inject({ method: 'POST', url: `/jobs/${job!.id}/cancel` })).statusCode).toBe(200);
  await claimedAgo([e!.id], 10);
  const hb = await heartbeat(o, runner, []);
  expect(hb.cancel).toEqual([e!.id]);
  expect((await execution(e!.id)).status).toBe('CANCELLED');
  expect(await claim(o, runner, { max: 1 })).toEqual([]);
});
