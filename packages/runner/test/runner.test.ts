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
