import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { createRunner, defineHandler } from '../src/index.js';
import { OrchestratorClient } from '../src/orchestrator-client.js';
import { Reporter } from '../src/reporter.js';

/**
 * The runner loop's edges that a real orchestrator does not produce on demand, against a scripted HTTP peer on
 * loopback (the orchestrator itself is tested against real PostgreSQL elsewhere).
 */

const silent = pino({ level: 'silent' });

/** An HTTP server answering each request with the next scripted reply; records when each came. */
async function scriptedPeer(replies: { status: number; body: unknown; headers?: Record<string, string> }[]) {
  const seen: { at: number; path: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ at: Date.now(), path: req.url ?? '', body });
      const reply = replies[Math.min(seen.length - 1, replies.length - 1)]!;
      res
        .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
        .end(JSON.stringify(reply.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => server.close(),
  };
}

test('a 429 on a report is waited out (Retry-After) and the report delivered unchanged, not replaced', async () => {
  const peer = await scriptedPeer([
    {
      status: 429,
      body: { status: 429, code: 'RATE_LIMITED', detail: 'slow down' },
      headers: { 'retry-after': '1' },
    },
    { status: 200, body: { results: [{ executionId: 7, verdict: 'recorded', status: 'SUCCEEDED' }] } },
  ]);
  const client = new OrchestratorClient(peer.url);
  try {
    const reporter = new Reporter(client, () => '00000000-0000-4000-8000-000000000001', 10, 1, silent);
    reporter.report(7, { status: 'SUCCEEDED', result: { ok: true } });
    expect(await reporter.drain(10_000)).toBe(true);
    expect(peer.seen).toHaveLength(2);
    expect(peer.seen[1]!.at - peer.seen[0]!.at).toBeGreaterThanOrEqual(900);
    expect(JSON.parse(peer.seen[1]!.body).results).toEqual([
      { executionId: 7, outcome: { status: 'SUCCEEDED', result: { ok: true } } },
    ]);
  } finally {
    await client.close();
    peer.close();
  }
});

test('stop() while the runner is still trying to register ends both at once, with nothing registered', async () => {
  // Nothing listens on port 9 (discard) here: every registration attempt fails and is retried.
  const runner = createRunner({
    orchestratorUrl: 'http://127.0.0.1:9',
    handlers: [defineHandler({ type: 'never', handle: () => null })],
    logger: silent,
    handleSignals: false,
  });
  const started = runner.start();
  await new Promise((r) => setTimeout(r, 600));
  await runner.stop();
  await started;
  await runner.stopped;
  expect(runner.id).toBe('');
});

test('a registration the orchestrator refuses (400) is not retried: start() rejects with it', async () => {
  const peer = await scriptedPeer([
    { status: 400, body: { status: 400, code: 'VALIDATION_FAILED', detail: 'types.0.payloadSchema: bad' } },
  ]);
  try {
    const runner = createRunner({
      orchestratorUrl: peer.url,
      handlers: [defineHandler({ type: 'x', handle: () => null })],
      logger: silent,
      handleSignals: false,
    });
    await expect(runner.start()).rejects.toThrow(/types\.0\.payloadSchema/);
    expect(peer.seen).toHaveLength(1);
    await runner.stop();
  } finally {
    peer.close();
  }
});

test('reports slower than claims hold claims back: a runner holds at most twice its concurrency', async () => {
  // An orchestrator that hands out work at once but answers reports only after 200 ms, as a busy one can (found
  // by `pnpm bench --scenario soak`: the runners kept claiming and held ever more finished work).
  const concurrency = 10;
  let nextId = 1;
  let answered = 0;
  let mostHeld = 0;
  const held = () => nextId - 1 - answered;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const reply = (status: number, value?: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value ?? {}));
      const url = new URL(req.url ?? '/', 'http://peer');
      if (url.pathname === '/runners/register') {
        return reply(200, {
          id: '00000000-0000-4000-8000-000000000002',
          heartbeatIntervalMs: 10_000,
          leaseMs: 30_000,
          maxWaitSeconds: 30,
        });
      }
      if (url.pathname.endsWith('/heartbeat')) {
        return reply(200, {
          cancel: [],
          drain: false,
          leaseExpiresAt: new Date(Date.now() + 30_000).toISOString(),
        });
      }
      if (url.pathname.endsWith('/next-job')) {
        const executions = Array.from({ length: Number(url.searchParams.get('max')) }, () => ({
          id: nextId++,
          jobId: nextId,
          type: 'quick',
          payload: {},
          attempt: 1,
          maxAttempts: 3,
          scheduledFor: new Date().toISOString(),
          leaseExpiresAt: new Date(Date.now() + 30_000).toISOString(),
          timeoutMs: null,
          occurrenceId: null,
        }));
        mostHeld = Math.max(mostHeld, held());
        return reply(200, { executions });
      }
      if (url.pathname === '/executions/complete') {
        const { results } = JSON.parse(body) as { results: { executionId: number }[] };
        setTimeout(() => {
          answered += results.length;
          reply(200, {
            results: results.map((r) => ({
              executionId: r.executionId,
              verdict: 'recorded',
              status: 'SUCCEEDED',
            })),
          });
        }, 200);
        return;
      }
      reply(204);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const runner = createRunner({
    orchestratorUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handlers: [defineHandler({ type: 'quick', handle: () => null })],
    concurrency,
    logger: silent,
    handleSignals: false,
  });
  try {
    await runner.start();
    // Ten rounds of work answered (a report round trip is 200 ms: about 2 s), bounded in time for a busy machine.
    for (let waited = 0; answered < 10 * concurrency && waited < 30_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(answered).toBeGreaterThanOrEqual(10 * concurrency);
    // Never more than the executions running plus as many unanswered reports; unbounded, it was hundreds.
    expect(mostHeld).toBeLessThanOrEqual(2 * concurrency);
  } finally {
    await runner.stop();
    server.close();
  }
});
