import { HourglassClient, HourglassError, type HourglassEvent, type Job } from '@hourglass/client';
import { createRunner, defineHandler, type Runner } from '@hourglass/runner';
import { builtinHandlers } from '@hourglass/runner/builtin';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { WebhookReceiver } from '@hourglass/testkit/webhook-receiver';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FaultyProxy } from './faulty-proxy.js';

/**
 * Every call of the client against a real orchestrator on a real port, with a runner (the runner SDK, in this
 * process) running the built-in types, so jobs really run, fail, dead-letter and fire.
 */

let o: TestOrchestrator;
let runner: Runner;
let receiver: WebhookReceiver;
let hourglass: HourglassClient;

const silent = pino({ level: 'silent' });
const startRunner = (
  name: string,
  handlers = builtinHandlers({ webhook: { blockPrivateTargets: false } }),
) => {
  const r = createRunner({
    orchestratorUrl: o.url,
    name,
    handlers,
    handleSignals: false,
    logger: silent,
    pollWaitSeconds: 5,
  });
  return r.start().then(() => r);
};

beforeAll(async () => {
  o = await startTestOrchestrator({
    listen: true,
    // Heartbeats each second: a drained runner hears of it within one.
    env: { WEBHOOK_BLOCK_PRIVATE_TARGETS: 'false', HEARTBEAT_INTERVAL_MS: '1000' },
  });
  receiver = await WebhookReceiver.start();
  runner = await startRunner('client-test');
  hourglass = new HourglassClient({ url: o.url });
});

afterAll(async () => {
  await runner?.stop();
  await receiver?.close();
  // After fetch aborts a request (the signals test), Node's fetch may open one more connection that never sends a
  // request, and the HTTP server's close waits for such a connection until its headers time out (a minute).
  o?.app.server.closeAllConnections();
  if (o) await stopTestOrchestrator(o);
});

describe('jobs', () => {
  test('createJob, then waitForJob answers the job once it succeeded, with its result', async () => {
    const job = await hourglass.createJob({ type: 'echo', payload: { hello: 'world' } });
    expect(job).toMatchObject({
      type: 'echo',
      kind: 'once',
      status: 'SCHEDULED',
      payload: { hello: 'world' },
    });
    // The client sent an idempotency key of its own (a UUID); the job records it.
    expect(job.idempotencyKey).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const done = await hourglass.waitForJob(job.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.lastExecution?.result).toEqual({ hello: 'world' });
    expect(await hourglass.getJob(job.id)).toMatchObject({ id: job.id, status: 'SUCCEEDED' });
  });

  test('createJob with an idempotency key twice answers the same job', async () => {
    const first = await hourglass.createJob({ type: 'noop' }, { idempotencyKey: 'client-test-once' });
    const again = await hourglass.createJob(
      { type: 'noop', payload: 'ignored' },
      { idempotencyKey: 'client-test-once' },
    );
    expect(again.id).toBe(first.id);
  });

  test('createJobs makes a batch in order; a retried batch (same keys) makes no more', async () => {
    const jobs = await hourglass.createJobs([
      { type: 'noop', payload: 1 },
      { type: 'echo', payload: 2, priority: 5 },
      { type: 'noop', payload: 3, delayMs: 60_000 },
    ]);
    expect(jobs.map((j) => j.payload)).toEqual([1, 2, 3]);
    expect(jobs[1]!.priority).toBe(5);
    // Each job got its own key, so sending those jobs again returns them.
    const again = await hourglass.createJobs(
      jobs.map((j) => ({ type: j.type, idempotencyKey: j.idempotencyKey! })),
    );
    expect(again.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
  });

  test('listJobs iterates every page, newest first; listJobsPage filters and hands back a cursor', async () => {
    const made = await hourglass.createJobs(
      Array.from({ length: 7 }, (_, i) => ({ type: 'list.test', payload: i, delayMs: 3_600_000 })),
    );
    const seen: Job[] = [];
    for await (const job of hourglass.listJobs({ type: 'list.test' }, { pageSize: 2 })) seen.push(job);
    expect(seen.map((j) => j.id)).toEqual(made.map((j) => j.id).reverse());

    const page = await hourglass.listJobsPage({ type: 'list.test', status: 'SCHEDULED' }, { limit: 3 });
    expect(page.items).toHaveLength(3);
    expect(page.nextCursor).not.toBeNull();
    const next = await hourglass.listJobsPage({ type: 'list.test' }, { limit: 3, cursor: page.nextCursor! });
    expect(next.items.map((j) => j.id)).toEqual(
      made
        .map((j) => j.id)
        .reverse()
        .slice(3, 6),
    );
    expect((await hourglass.listJobsPage({ type: 'list.test', status: 'FAILED' })).items).toEqual([]);
  });

  test('cancelJob and triggerJob', async () => {
    const later = await hourglass.createJob({ type: 'echo', payload: 'later', delayMs: 3_600_000 });
    const execution = await hourglass.triggerJob(later.id);
    expect(execution).toMatchObject({ jobId: later.id, attempt: 1 });
    expect((await hourglass.waitForJob(later.id)).status).toBe('SUCCEEDED');

    const doomed = await hourglass.createJob({ type: 'noop', delayMs: 3_600_000 });
    expect((await hourglass.cancelJob(doomed.id)).status).toBe('CANCELLED');
    expect((await hourglass.waitForJob(doomed.id)).status).toBe('CANCELLED');
  });

  test('pauseJob, resumeJob and updateJob on a recurring job', async () => {
    const cron = await hourglass.createJob({
      type: 'noop',
      scheduleExpression: '0 0 1 1 *',
      timezone: 'UTC',
    });
    expect(cron.kind).toBe('cron');
    expect((await hourglass.pauseJob(cron.id)).status).toBe('PAUSED');
    expect((await hourglass.resumeJob(cron.id)).status).toBe('SCHEDULED');
    const updated = await hourglass.updateJob(cron.id, {
      scheduleExpression: '30 9 * * 1-5',
      overlapPolicy: 'queue',
    });
    expect(updated.schedule).toMatchObject({ scheduleExpression: '30 9 * * 1-5', overlapPolicy: 'queue' });
    await hourglass.cancelJob(cron.id);
  });

  test('waitForJob with maxWaitMs answers a job that is not final yet as it is', async () => {
    const later = await hourglass.createJob({ type: 'noop', delayMs: 3_600_000 });
    const job = await hourglass.waitForJob(later.id, { maxWaitMs: 300 });
    expect(job.status).toBe('SCHEDULED');
  });
});

describe('flows', () => {
  test('createFlow runs the DAG to the end; getFlow shows it; a cycle is a 400', async () => {
    const flow = await hourglass.createFlow([
      { ref: 'a', type: 'echo', payload: { from: 'a' } },
      { ref: 'b', type: 'echo', payload: { from: 'b' }, dependsOn: ['a'] },
    ]);
    expect(flow.jobs.map((j) => [j.ref, j.status])).toEqual([
      ['a', expect.stringMatching(/SCHEDULED|RUNNING|SUCCEEDED/)],
      ['b', expect.stringMatching(/WAITING|SCHEDULED|RUNNING|SUCCEEDED/)],
    ]);
    const b = await hourglass.waitForJob(flow.jobs[1]!.id);
    expect(b.status).toBe('SUCCEEDED');
    const done = await hourglass.getFlow(flow.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.edges).toEqual([{ parentId: flow.jobs[0]!.id, jobId: flow.jobs[1]!.id }]);
    const cycle = await hourglass.createFlow([{ ref: 'x', type: 'echo', dependsOn: ['x'] }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(cycle).toBeInstanceOf(HourglassError);
    expect((cycle as HourglassError).status).toBe(400);
  });
});

describe('executions', () => {
  test('listJobExecutions and getExecution show each attempt, its error and its result', async () => {
    const job = await hourglass.createJob({
      type: 'sleep',
      payload: { durationMs: 0, failAttempts: 1 },
      maxAttempts: 2,
      backoff: { initialDelayMs: 0 },
    });
    expect((await hourglass.waitForJob(job.id)).status).toBe('SUCCEEDED');
    const attempts = [];
    for await (const e of hourglass.listJobExecutions(job.id, { pageSize: 1 })) attempts.push(e);
    expect(attempts.map((e) => [e.attempt, e.status])).toEqual([
      [2, 'SUCCEEDED'],
      [1, 'FAILED'],
    ]);
    expect((await hourglass.listJobExecutionsPage(job.id, { limit: 1 })).nextCursor).not.toBeNull();
    const failed = await hourglass.getExecution(attempts[1]!.id);
    expect(failed).toMatchObject({ jobId: job.id, attempt: 1, status: 'FAILED' });
    expect(failed.error).toMatch(/attempt 1/);
  });

  test('listActiveExecutions shows a running execution with its runner', async () => {
    const job = await hourglass.createJob({ type: 'sleep', payload: { durationMs: 3_000 } });
    let active = await hourglass.listActiveExecutions();
    for (let i = 0; i < 100 && !active.some((e) => e.jobId === job.id); i++) {
      await new Promise((r) => setTimeout(r, 100));
      active = await hourglass.listActiveExecutions();
    }
    expect(active.find((e) => e.jobId === job.id)?.runner?.name).toBe('client-test');
    await hourglass.cancelJob(job.id);
  });
});

describe('timers', () => {
  test('createTimer, getTimer, and the timer fires at the receiver', async () => {
    const created = await hourglass.createTimer({
      seconds: 1,
      url: `${receiver.url}/timer`,
      payload: { n: 1 },
    });
    expect(created.time_left).toBeGreaterThanOrEqual(0);
    const timer = await hourglass.getTimer(created.id);
    expect(timer).toMatchObject({ id: created.id, url: `${receiver.url}/timer` });
    // A timer is a webhook job: wait for it like any job.
    expect((await hourglass.waitForJob(created.id)).status).toBe('SUCCEEDED');
    expect((await hourglass.getTimer(created.id)).fired_at).not.toBeNull();
    const [delivery] = await receiver.waitFor(1, '/timer');
    expect(delivery!.body).toMatchObject({ timerId: created.id, payload: { n: 1 } });
  });
});

describe('dead letters', () => {
  test('a job out of attempts is listed; requeueing runs it again, and a second requeue is a 409', async () => {
    const job = await hourglass.createJob({
      type: 'sleep',
      payload: { durationMs: 0, failAttempts: 1 },
      maxAttempts: 1,
    });
    expect((await hourglass.waitForJob(job.id)).status).toBe('FAILED');
    const letters = [];
    for await (const d of hourglass.listDeadLetters()) if (d.jobId === job.id) letters.push(d);
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(letter).toMatchObject({ type: 'sleep', attempts: 1, requeuedAt: null });

    const execution = await hourglass.requeueDeadLetter(letter.id);
    expect(execution).toMatchObject({ jobId: job.id, attempt: 1 });
    // failAttempts: 1 fails attempt 1 only; a requeue starts at attempt 1 again, so it fails again.
    expect((await hourglass.waitForJob(job.id)).status).toBe('FAILED');
    await expect(hourglass.requeueDeadLetter(letter.id)).rejects.toMatchObject({
      status: 409,
      code: 'ALREADY_REQUEUED',
    });
    const page = await hourglass.listDeadLettersPage({ includeRequeued: true }, { limit: 500 });
    expect(page.items.find((d) => d.id === letter.id)?.requeuedAt).not.toBeNull();
    expect((await hourglass.listDeadLettersPage({}, { limit: 500 })).items.map((d) => d.id)).not.toContain(
      letter.id,
    );
  });
});

describe('runners and job types', () => {
  test('listRunners shows the runner; drainRunner drains one, which then stops', async () => {
    const other = await startRunner('to-drain', [
      defineHandler({ type: 'drain.me', handle: async () => null }),
    ]);
    const runners = await hourglass.listRunners();
    expect(runners.find((r) => r.id === runner.id)).toMatchObject({ name: 'client-test', status: 'ONLINE' });
    expect(await hourglass.drainRunner(other.id)).toEqual({ id: other.id, status: 'DRAINING' });
    await other.stopped;
    expect((await hourglass.listRunners()).map((r) => r.id)).not.toContain(other.id);
    expect((await hourglass.listRunners({ includeOffline: true })).map((r) => r.id)).toContain(other.id);
  });

  test('listJobTypes shows the built-in types and who serves them', async () => {
    const types = await hourglass.listJobTypes();
    const echo = types.find((t) => t.name === 'echo');
    expect(echo).toMatchObject({ builtin: true });
    expect(echo?.runners.map((r) => r.name)).toContain('client-test');
  });

  test('getMe names the key and its scopes; getStats counts jobs by status; listJobs finds by q', async () => {
    expect((await hourglass.getMe()).scopes.length).toBeGreaterThan(0);
    const keyed = await hourglass.createJob(
      { type: 'noop', delayMs: 3_600_000 },
      { idempotencyKey: 'find-me-q' },
    );
    const found = [];
    for await (const j of hourglass.listJobs({ q: 'find-me-q' })) found.push(j.id);
    expect(found).toEqual([keyed.id]);
    const stats = await hourglass.getStats();
    expect(stats.jobs.SCHEDULED).toBeGreaterThanOrEqual(1);
    expect(stats.throughput).toHaveLength(60);
  });
});

describe('queues', () => {
  test('configureQueue, getQueue, listQueues, pauseQueue and resumeQueue', async () => {
    const set = await hourglass.configureQueue('client-q', {
      concurrency: 2,
      rateLimit: { limit: 5, periodMs: 1000 },
    });
    expect(set).toMatchObject({
      name: 'client-q',
      paused: false,
      concurrency: 2,
      perKeyConcurrency: null,
      rateLimit: { limit: 5, periodMs: 1000, perKey: false },
    });
    await hourglass.createJob({ type: 'noop', queue: 'client-q', delayMs: 3_600_000 });
    expect((await hourglass.getQueue('client-q')).counts.scheduled).toBe(1);
    expect((await hourglass.pauseQueue('client-q')).paused).toBe(true);
    const listed = await hourglass.listQueues();
    expect(listed.items.find((q) => q.name === 'client-q')).toMatchObject({ paused: true, concurrency: 2 });
    expect((await hourglass.resumeQueue('client-q')).paused).toBe(false);
    await expect(hourglass.getQueue('never-used')).rejects.toMatchObject({ status: 404 });
  });
});

describe('signals', () => {
  test('an AbortSignal ends a call at once, even a long-poll, with its reason', async () => {
    const later = await hourglass.createJob({ type: 'noop', delayMs: 3_600_000 });
    const controller = new AbortController();
    const waiting = hourglass.waitForJob(later.id, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 200);
    await expect(waiting).rejects.toThrow('user gave up');
    // An aborted signal stops a call before it is sent.
    await expect(hourglass.getJob(later.id, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('events', () => {
  test('events() follows a job through to SUCCEEDED, in id order', async () => {
    const job = await hourglass.createJob({ type: 'echo', payload: { n: 1 } });
    const seen: HourglassEvent[] = [];
    for await (const e of hourglass.events({ jobId: job.id, after: 0 })) {
      seen.push(e);
      if (e.kind === 'job.succeeded') break;
    }
    expect(seen.map((e) => e.kind)).toEqual([
      'job.created',
      'execution.claimed',
      'execution.succeeded',
      'job.succeeded',
    ]);
    expect(seen.every((e, i) => i === 0 || e.id > seen[i - 1]!.id)).toBe(true);
  });

  test('a connection cut mid-stream is resumed with Last-Event-ID: nothing missed, nothing twice', async () => {
    const proxy = await FaultyProxy.start(o.url, () => 'forward');
    try {
      const viaProxy = new HourglassClient({ url: proxy.url, retry: { initialDelayMs: 50 } });
      const reconnects: (number | undefined)[] = [];
      const created: number[] = [];
      const seen: HourglassEvent[] = [];
      const reading = (async () => {
        // From now: the stream's start is pinned by the server (its `: connected, after <id>` line).
        for await (const e of viaProxy.events(
          { type: 'resume-client', kinds: ['job.*'] },
          { onReconnect: ({ lastEventId }) => reconnects.push(lastEventId) },
        )) {
          seen.push(e);
          if (seen.length === 150) return;
        }
      })();
      // The stream is open once the proxy has seen its request.
      while (!proxy.requests.some((r) => r.startsWith('GET /events')))
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      for (let batch = 0; batch < 3; batch++) {
        const jobs = await hourglass.createJobs(
          Array.from({ length: 50 }, () => ({ type: 'resume-client' })),
        );
        created.push(...jobs.map((j) => j.id));
        // Cut while the events of this batch are on their way.
        proxy.cutConnections();
      }
      await reading;
      expect(reconnects.length).toBeGreaterThan(0);
      expect(seen.map((e) => e.jobId)).toEqual(created);
      expect(seen.every((e, i) => i === 0 || e.id > seen[i - 1]!.id)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  test('follow: false reads what exists and ends; a refused stream rejects with the problem', async () => {
    const job = await hourglass.createJob({ type: 'noop' });
    await hourglass.waitForJob(job.id);
    const kinds: string[] = [];
    for await (const e of hourglass.events({ jobId: job.id, after: 0 }, { follow: false }))
      kinds.push(e.kind);
    expect(kinds).toContain('job.created');
    const refused = (async () => {
      for await (const _ of hourglass.events({ kinds: ['job.exploded' as 'job.created'] })) break;
    })();
    await expect(refused).rejects.toBeInstanceOf(HourglassError);
    await expect(refused).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });
});
