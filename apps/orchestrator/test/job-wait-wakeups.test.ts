import pino from 'pino';
import { expect, test } from 'vitest';
import { JobWaiters } from '../src/services/job-waiters.js';
import { ListenConnection } from '../src/services/listen-connection.js';
import { claimOne, heartbeat, orchestratorPerFile, registerRunner } from './helpers.js';

/**
 * GET /jobs/{id}?wait= answers as soon as the job ends, also when it ends without a report: a lease that expires on
 * the last attempt (the lease reaper dead-letters it) or a runner that deregisters while holding it, and the
 * dependents such a failure cancels (flows). The waiters' safety net is set to a minute here, past the requests'
 * 30-s wait; a request not woken answers the job as it is when the wait ends, so each is checked to answer within
 * half the wait (it takes a lease, 4 s, for the reaper's case, and well under a second for deregistration).
 * Last, a change announced during a waiter's read of the job is not lost.
 */

const o = orchestratorPerFile({
  WAKE_SAFETY_NET_MS: '60000',
  LEASE_MS: '4000',
  HEARTBEAT_INTERVAL_MS: '500',
  REAPER_INTERVAL_MS: '100',
});

async function waitForJob(id: number) {
  const startedAt = Date.now();
  const res = await o.app.inject({ method: 'GET', url: `/jobs/${id}?wait=30` });
  expect(res.statusCode, res.body).toBe(200);
  expect(Date.now() - startedAt, `job ${id}'s waiter was not woken`).toBeLessThan(15_000);
  return res.json() as { id: number; status: string };
}

/** A parent on its last attempt and a dependent of it; returns their ids. */
async function parentAndChild(type: string) {
  const res = await o.app.inject({
    method: 'POST',
    url: '/flows',
    payload: {
      jobs: [
        { ref: 'parent', type, maxAttempts: 1 },
        { ref: 'child', type, dependsOn: ['parent'] },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  const jobs = res.json().jobs as { id: number; ref: string }[];
  return { parent: jobs.find((j) => j.ref === 'parent')!.id, child: jobs.find((j) => j.ref === 'child')!.id };
}

test('a lease that expires on the last attempt answers the waiters of the job and of the dependent it cancels', async () => {
  const runnerId = await registerRunner(o, { types: ['wait-lease'], capacity: 5 });
  const { parent, child } = await parentAndChild('wait-lease');
  expect((await claimOne(o, runnerId)).jobId).toBe(parent);
  // No heartbeat: the lease (4 s) expires and the reaper dead-letters the only attempt.
  const [p, c] = await Promise.all([waitForJob(parent), waitForJob(child)]);
  expect(p.status).toBe('FAILED');
  expect(c.status).toBe('CANCELLED');
}, 60_000);

test('a runner deregistering while holding the last attempt answers the waiters of the job and its dependent', async () => {
  const runnerId = await registerRunner(o, { types: ['wait-gone'], capacity: 5 });
  const { parent, child } = await parentAndChild('wait-gone');
  const execution = await claimOne(o, runnerId);
  expect(execution.jobId).toBe(parent);
  // The lease renewed, so that the deregistration, not the reaper, ends the attempt even on a slow machine.
  await heartbeat(o, runnerId, [execution.id]);
  const waits = Promise.all([waitForJob(parent), waitForJob(child)]);
  // Give both requests time to start waiting (they check once, then sleep until woken).
  await new Promise((r) => setTimeout(r, 300));
  const gone = await o.app.inject({
    method: 'DELETE',
    url: `/runners/${runnerId}`,
    payload: { started: [execution.id] },
  });
  expect(gone.statusCode, gone.body).toBe(200);
  expect(gone.json().abandoned).toEqual([execution.id]);
  const [p, c] = await waits;
  expect(p.status).toBe('FAILED');
  expect(c.status).toBe('CANCELLED');
}, 60_000);

test('a change announced while a waiter reads the job is not lost: it reads again at once', async () => {
  const log = pino({ level: 'silent' });
  const listen = new ListenConnection(o.database.url, log);
  const waiters = new JobWaiters(o.db, listen, log, 60_000);
  await listen.start();
  try {
    let reads = 0;
    const startedAt = Date.now();
    const value = await waiters.waitFor(
      987_654_321,
      async () => {
        reads++;
        // The job changes (and this replica announces it) after the read saw it unfinished, before the wait.
        if (reads === 1) {
          waiters.changed([987_654_321]);
          return undefined;
        }
        return 'final';
      },
      30_000,
      new AbortController().signal,
    );
    expect(value).toBe('final');
    expect(reads).toBe(2);
    // Lost, the change would leave the waiter asleep for the whole 30-s wait (the safety net is a minute).
    expect(Date.now() - startedAt).toBeLessThan(15_000);
  } finally {
    waiters.close();
    await listen.stop();
  }
}, 60_000);
