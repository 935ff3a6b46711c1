import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClaimedExecution, CompleteBatchBody, Execution, Outcome } from '@hourglass/contracts';
import {
  startTestOrchestrator,
  stopTestOrchestrator,
  type TestOrchestrator,
} from '@hourglass/testkit/orchestrator';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { OrchestratorClient } from '../src/orchestrator-client.js';
import { Reporter } from '../src/reporter.js';

/**
 * The reporter keeps every outcome until the orchestrator answers it with a verdict, and never sends one the
 * handler did not have (issue 10, defect 2). Against a real orchestrator (and, for outages and refused keys, a
 * loopback front of it that can be stopped or made to answer 401).
 */

let o: TestOrchestrator;
beforeAll(async () => {
  o = await startTestOrchestrator({ listen: true });
});
afterAll(async () => {
  await stopTestOrchestrator(o);
});

/** A client whose every report is recorded, and a reporter over it whose log lines are kept. */
function reporterFor(url: string, runnerId: string) {
  const client = new OrchestratorClient(url);
  const sent: CompleteBatchBody[] = [];
  const complete = client.complete.bind(client);
  client.complete = (body) => {
    sent.push(structuredClone(body));
    return complete(body);
  };
  const logs: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const reporter = new Reporter(client, () => runnerId, 100, 1, log);
  /** Every outcome sent for `executionId`, in order. */
  const sentFor = (executionId: number) =>
    sent.flatMap((b) => b.results.filter((r) => r.executionId === executionId).map((r) => r.outcome));
  return { client, reporter, sent, sentFor, logs };
}

/** Registers a runner and claims `n` new echo executions. */
async function claimNew(n: number): Promise<{ runnerId: string; executions: ClaimedExecution[] }> {
  const reg = await o.app.inject({
    method: 'POST',
    url: '/runners/register',
    payload: { name: 'r', host: 'h', types: ['echo'], capacity: 10 },
  });
  const runnerId = reg.json().id as string;
  await o.app.inject({
    method: 'POST',
    url: '/jobs/batch',
    payload: { jobs: Array.from({ length: n }, () => ({ type: 'echo' })) },
  });
  const res = await o.app.inject({ method: 'POST', url: `/runners/${runnerId}/next-job?max=${n}&wait=1` });
  const executions = res.json().executions as ClaimedExecution[];
  expect(executions).toHaveLength(n);
  return { runnerId, executions };
}

const execution = async (id: number) =>
  (await o.app.inject({ method: 'GET', url: `/executions/${id}` })).json() as Execution;

const startedAt = '2030-01-01T00:00:00.000Z';

test('a result that cannot be stored is reported as it is; the orchestrator records why, the others as sent', async () => {
  const { runnerId, executions } = await claimNew(2);
  const [bad, good] = executions.map((e) => e.id) as [number, number];
  const r = reporterFor(o.url, runnerId);
  try {
    // A NUL cannot be stored by PostgreSQL.
    const outcome: Outcome = { status: 'SUCCEEDED', result: 'nul\u0000here', startedAt };
    r.reporter.report(bad, outcome);
    r.reporter.report(good, { status: 'SUCCEEDED', result: 'fine' });
    expect(await r.reporter.drain(10_000)).toBe(true);

    expect(await execution(good)).toMatchObject({ status: 'SUCCEEDED', result: 'fine' });
    expect(await execution(bad)).toMatchObject({
      status: 'FAILED',
      errorCode: 'RESULT_INVALID',
      retryable: false,
      error: expect.stringMatching(
        /^the handler succeeded, but its result cannot be stored: result contains/,
      ),
    });
    // What the runner sent for it is what the handler returned, nothing else.
    expect(r.sentFor(bad)).toEqual([outcome]);
    expect(r.logs.map((l) => l.msg)).toContain(
      "the orchestrator recorded another status than reported; the execution's error says why",
    );
  } finally {
    await r.client.close();
  }
});

test('a result too large to send is reported by its size, and recorded as RESULT_TOO_LARGE; never as a made-up failure', async () => {
  const { runnerId, executions } = await claimNew(2);
  const [big, small] = executions.map((e) => e.id) as [number, number];
  const r = reporterFor(o.url, runnerId);
  try {
    // Over the 1 MiB body limit: the batch, then the report alone, are answered 413.
    const result = 'x'.repeat(1_500_000);
    r.reporter.report(big, { status: 'SUCCEEDED', result, startedAt });
    r.reporter.report(small, { status: 'SUCCEEDED', result: 'fine' });
    expect(await r.reporter.drain(20_000)).toBe(true);

    expect(await execution(small)).toMatchObject({ status: 'SUCCEEDED', result: 'fine' });
    expect(await execution(big)).toMatchObject({
      status: 'FAILED',
      errorCode: 'RESULT_TOO_LARGE',
      retryable: false,
      result: null,
      startedAt,
      error:
        'the handler succeeded, but its result (1500002 bytes of JSON) was too large to report; it was not stored',
    });
    expect(
      r.sentFor(big).map((s) => ({ ...s, result: s.status === 'SUCCEEDED' && s.result ? '…' : undefined })),
    ).toEqual([
      { status: 'SUCCEEDED', result: '…', startedAt }, // in the batch
      { status: 'SUCCEEDED', result: '…', startedAt }, // alone
      { status: 'SUCCEEDED', result: undefined, resultBytes: 1_500_002, startedAt },
    ]);
  } finally {
    await r.client.close();
  }
});

test('a report refused even alone is kept, not replaced: the execution stays held, and the rest are delivered', async () => {
  const { runnerId, executions } = await claimNew(2);
  const [bad, good] = executions.map((e) => e.id) as [number, number];
  const r = reporterFor(o.url, runnerId);
  try {
    // Invalid (an error over 10,000 characters): a runner bug the orchestrator answers 400.
    const invalid: Outcome = { status: 'FAILED', error: 'e'.repeat(10_001) };
    r.reporter.report(bad, invalid);
    r.reporter.report(good, { status: 'SUCCEEDED', result: 'fine' });
    // false: not every report got a verdict.
    expect(await r.reporter.drain(10_000)).toBe(false);

    expect(await execution(good)).toMatchObject({ status: 'SUCCEEDED', result: 'fine' });
    expect(await execution(bad)).toMatchObject({ status: 'RUNNING', runnerId, error: null });
    expect(r.reporter.pendingIds()).toEqual([bad]);
    expect(r.sentFor(bad)).toEqual([invalid, invalid]); // in the batch, then alone: nothing else
    const refused = r.logs.find((l) => l.executionId === bad && l.level === 50);
    expect(refused?.msg).toMatch(/refuses this report even alone; it is kept/);
  } finally {
    await r.client.close();
  }
});

/**
 * A loopback front of the orchestrator that can answer 401 to everything, or be stopped (connections refused)
 * and started again on the same port.
 */
async function frontOf(target: TestOrchestrator) {
  let mode: 'up' | 'unauthorized' = 'up';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (mode === 'unauthorized') {
        res
          .writeHead(401, { 'content-type': 'application/problem+json' })
          .end(JSON.stringify({ status: 401, code: 'UNAUTHORIZED', detail: 'unknown or revoked API key' }));
        return;
      }
      const answer = await target.app.inject({
        method: req.method as 'POST',
        url: req.url ?? '/',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        payload: Buffer.concat(chunks),
      });
      res
        .writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type']) })
        .end(answer.rawPayload);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    set mode(m: 'up' | 'unauthorized') {
      mode = m;
    },
    async stop() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
    async start() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

test('an orchestrator that refuses the key (401) for a while gets the reports, unchanged, once it accepts it', async () => {
  const { runnerId, executions } = await claimNew(1);
  const id = executions[0]!.id;
  const front = await frontOf(o);
  const r = reporterFor(front.url, runnerId);
  try {
    front.mode = 'unauthorized';
    const outcome: Outcome = { status: 'SUCCEEDED', result: { n: 1 } };
    r.reporter.report(id, outcome);
    await expect.poll(() => r.sent.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(r.reporter.pendingIds()).toEqual([id]);
    const line = r.logs.find((l) => l.status === 401);
    expect(line?.msg).toBe("the orchestrator refuses this runner's API key; reports are kept and retried");

    front.mode = 'up';
    expect(await r.reporter.drain(20_000)).toBe(true);
    expect(await execution(id)).toMatchObject({ status: 'SUCCEEDED', result: { n: 1 } });
    expect(new Set(r.sentFor(id).map((s) => JSON.stringify(s)))).toEqual(new Set([JSON.stringify(outcome)]));
  } finally {
    await r.client.close();
    await front.stop();
  }
});

test('an orchestrator unreachable for longer than the longest backoff gets the reports once it is back', async () => {
  const { runnerId, executions } = await claimNew(2);
  const front = await frontOf(o);
  const r = reporterFor(front.url, runnerId);
  try {
    await front.stop();
    for (const e of executions) r.reporter.report(e.id, { status: 'SUCCEEDED', result: e.id });
    // Down for 6 s: past the 5 s cap of the backoff, so the reports went through several failed sends.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(r.reporter.pendingIds().sort()).toEqual(executions.map((e) => e.id).sort());
    expect(r.logs.filter((l) => l.msg === 'report failed; retrying').length).toBeGreaterThanOrEqual(3);
    await front.start();
    expect(await r.reporter.drain(30_000)).toBe(true);
    for (const e of executions)
      expect(await execution(e.id)).toMatchObject({ status: 'SUCCEEDED', result: e.id });
  } finally {
    await r.client.close();
    await front.stop();
  }
}, 60_000);
