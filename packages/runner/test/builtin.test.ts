import { BUILTIN_PAYLOADS, BUILTIN_TYPES } from '@hourglass/contracts';
import { builtinHandlers, echoHandler, sleepHandler } from '@hourglass/runner/builtin';
import { describe, expect, test } from 'vitest';
import { testContext } from './context.js';

describe('built-in handlers', () => {
  test('one per built-in type, with the contract’s payload schemas', () => {
    const handlers = builtinHandlers();
    expect(handlers.map((h) => h.type).sort()).toEqual(BUILTIN_TYPES);
    for (const h of handlers)
      expect(h.payload).toBe(BUILTIN_PAYLOADS[h.type as keyof typeof BUILTIN_PAYLOADS]);
  });

  test('sleep fills in its defaults', () => {
    expect(sleepHandler.payload!.parse(undefined)).toEqual({
      durationMs: 1000,
      failureRate: 0,
      failAttempts: 0,
    });
  });

  test('echo returns its payload', async () => {
    expect(await echoHandler.handle({ a: 1 }, testContext())).toEqual({ a: 1 });
  });

  test('sleep fails its first failAttempts attempts, then succeeds', async () => {
    const p = { durationMs: 0, failureRate: 0, failAttempts: 2 };
    await expect(sleepHandler.handle(p, testContext({ attempt: 1 }))).rejects.toThrow(/attempt 1/);
    await expect(sleepHandler.handle(p, testContext({ attempt: 2 }))).rejects.toThrow(/attempt 2/);
    await expect(sleepHandler.handle(p, testContext({ attempt: 3 }))).resolves.toEqual({ sleptMs: 0 });
  });

  test('sleep stops when its signal aborts', async () => {
    const ac = new AbortController();
    const run = sleepHandler.handle(
      { durationMs: 60_000, failureRate: 0, failAttempts: 0 },
      testContext({ signal: ac.signal }),
    );
    ac.abort(new Error('stop'));
    await expect(run).rejects.toThrow('stop');
  });
});
