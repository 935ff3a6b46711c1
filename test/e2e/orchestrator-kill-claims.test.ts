import type { Job, NextJobReply, RegisterRunnerReply, Runner } from '@hourglass/contracts';
import { Cluster } from '@hourglass/testkit/cluster';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';

/**
 * Issue 10, defect 14: after kill -9 of an orchestrator, claims on the surviving replica stalled until the
 * long-polls ended. A runner whose orchestrator dies is silent until it fails over; when that takes longer than
 * 3 heartbeat intervals (a loaded machine, a PostgreSQL outage), the surviving replica's liveness loop marks it
 * OFFLINE. Its failover claim then found it OFFLINE and slept the whole long-poll (30 s by default), although the
 * heartbeat it sent a moment later made it ONLINE again. The runner is played over HTTP by the test, so that the
 * order of its claim and heartbeat (the race a real runner loses now and then) is fixed.
 */
const cluster = new Cluster();
const HEARTBEAT_MS = 300;
const POLL_WAIT_SECONDS = 20;

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.error(`--- process output ---\n${cluster.tail(150)}`);
});
afterAll(() => cluster.stop());

beforeAll(async () => {
  await cluster.start(
    { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), LEASE_MS: '1000', REAPER_INTERVAL_MS: '200' },
    { orchestrators: 2 },
  );
});

test('a runner marked OFFLINE while its orchestrator was down is served on the survivor once it heartbeats, not when its long-poll ends', async () => {
  const [o1, o2] = cluster.orchestrators;
  const registered = await cluster.request<RegisterRunnerReply>(
    'POST',
    '/runners/register',
    { name: 'failover-runner', host: 'test', types: ['noop'], capacity: 1 },
    { via: o1!.url },
  );
  expect(registered.status).toBe(201);
  const runnerId = registered.body.id;

  await o1!.process.kill9();
  cluster.url = o2!.url;
  // The runner's failover took more than 3 heartbeat intervals: the survivor's liveness loop marks it OFFLINE.
  await cluster.until('the runner to be marked OFFLINE', async () => {
    const { body } = await cluster.get<{ items: Runner[] }>('/runners?includeOffline=true');
    return body.items.find((r) => r.id === runnerId)?.status === 'OFFLINE' ? true : undefined;
  });

  // It fails over as a runner does: its claim loop reaches the survivor first (claiming again at once after each
  // answer), its heartbeats (the first makes it ONLINE again) start just after.
  let stop = false;
  const claimed: number[] = [];
  const claimLoop = (async () => {
    const deadline = Date.now() + 3 * POLL_WAIT_SECONDS * 1000;
    while (!stop && claimed.length === 0 && Date.now() < deadline) {
      const { status, body } = await cluster.request<NextJobReply | undefined>(
        'POST',
        `/runners/${runnerId}/next-job?max=1&wait=${POLL_WAIT_SECONDS}`,
      );
      expect([200, 204]).toContain(status);
      claimed.push(...(body?.executions.map((e) => e.jobId) ?? []));
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  const heartbeats = (async () => {
    while (!stop) {
      const { status } = await cluster.request('POST', `/runners/${runnerId}/heartbeat`, { running: [] });
      expect(status).toBe(200);
      await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
    }
  })();
  try {
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
    const [job] = await cluster.createJobs([{ type: 'noop' }]);
    const created = Date.now();
    await claimLoop;
    const waitedMs = Date.now() - created;
    // Before the fix: the claim that found it OFFLINE slept the whole 20 s while the job waited. Normal: a heartbeat
    // interval or two; the bound is generous for a loaded machine and still far below the long-poll.
    expect(claimed).toEqual([(job as Job).id]);
    expect(waitedMs, `the job was claimed ${waitedMs} ms after it was created`).toBeLessThan(
      (POLL_WAIT_SECONDS * 1000) / 2,
    );
  } finally {
    stop = true;
    await heartbeats;
  }
});
