import { describe, expect, test } from 'vitest';
import { errorMessage, execute } from '../src/executor.js';

const execution = (type: string, payload: unknown, timeoutMs: number | null = null) => ({
  id: 1,
  jobId: 1,
  type,
  payload,
  attempt: 1,
  maxAttempts: 3,
  scheduledFor: new Date().toISOString(),
  leaseExpiresAt: new Date().toISOString(),
  timeoutMs,
});

const settings = {
  webhook: { secret: undefined, blockPrivateTargets: true, connectTimeoutMs: 1_000, timeoutMs: 1_000 },
};

describe('execute', () => {
  test('a handler result is a SUCCEEDED outcome with its start time', async () => {
    const outcome = await execute(execution('echo', { a: 1 }), 1_000, settings).done;
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { a: 1 } });
    expect(Date.parse(outcome.startedAt!)).toBeLessThanOrEqual(Date.now());
  });

  test('a throwing handler is a FAILED outcome carrying the message', async () => {
    const outcome = await execute(execution('sleep', { durationMs: 0, failAttempts: 1 }), 1_000, settings)
      .done;
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'simulated failure on attempt 1' });
  });

  test('the job timeout aborts the handler and fails the attempt', async () => {
    const r = execute(execution('sleep', { durationMs: 60_000 }, 50), 60_000, settings);
    expect(await r.done).toMatchObject({ status: 'FAILED', error: 'handler timed out after 50 ms' });
    expect(r.controller.signal.aborted).toBe(true);
  });

  test('cancellation aborts the handler and reports CANCELLED', async () => {
    const r = execute(execution('sleep', { durationMs: 60_000 }), 60_000, settings);
    r.abort('cancelled');
    expect(await r.done).toMatchObject({ status: 'CANCELLED' });
  });

  test('shutdown aborts and reports a failure, so the attempt is retried', async () => {
    const r = execute(execution('sleep', { durationMs: 60_000 }), 60_000, settings);
    r.abort('shutdown');
    expect(await r.done).toMatchObject({
      status: 'FAILED',
      error: 'runner shut down before the handler finished',
    });
  });

  test('an unknown type fails without running anything', async () => {
    expect(await execute(execution('nope', {}), 1_000, settings).done).toMatchObject({ status: 'FAILED' });
  });

  test('a payload the handler rejects fails the attempt', async () => {
    expect(await execute(execution('sleep', { durationMs: 'x' }), 1_000, settings).done).toMatchObject({
      status: 'FAILED',
    });
  });
});

describe('errorMessage', () => {
  test('drops NUL and lone surrogates, which PostgreSQL cannot store', () => {
    expect(errorMessage(new Error('a\u0000b\ud800c'))).toBe('ab\ufffdc');
  });

  test('cuts long messages without splitting a character', () => {
    const msg = errorMessage(new Error('😀'.repeat(20_000)));
    expect([...msg]).toHaveLength(10_000);
    expect(msg).toBe('😀'.repeat(10_000));
  });
});
