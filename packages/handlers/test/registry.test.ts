import { checkPayload, knownTypes, registry } from '@hourglass/handlers';
import { describe, expect, test } from 'vitest';

const ctx = (attempt: number, signal = new AbortController().signal) => ({
  executionId: 1,
  jobId: 1,
  attempt,
  signal,
  scheduledFor: new Date().toISOString(),
  settings: {
    webhook: { secret: undefined, blockPrivateTargets: true, connectTimeoutMs: 1_000, timeoutMs: 1_000 },
  },
});

describe('registry', () => {
  test('knows the built-in types', () => {
    expect(knownTypes).toEqual(expect.arrayContaining(['echo', 'noop', 'sleep', 'webhook']));
  });

  test('an unknown type is refused naming the known types', () => {
    const r = checkPayload('nope', {});
    expect(r).toMatchObject({ ok: false, field: 'type' });
    if (!r.ok) for (const t of knownTypes) expect(r.message).toContain(t);
  });

  test('a bad payload names the field', () => {
    expect(checkPayload('sleep', { durationMs: -1 })).toMatchObject({
      ok: false,
      field: 'payload.durationMs',
    });
    expect(checkPayload('sleep', { extra: 1 })).toMatchObject({ ok: false, field: 'payload' });
  });

  test('defaults are filled in', () => {
    expect(checkPayload('sleep', undefined)).toEqual({
      ok: true,
      payload: { durationMs: 1000, failureRate: 0, failAttempts: 0 },
    });
  });
});

describe('handlers', () => {
  test('echo returns its payload', async () => {
    expect(await registry.get('echo')!.run({ a: 1 }, ctx(1))).toEqual({ a: 1 });
  });

  test('sleep fails its first failAttempts attempts, then succeeds', async () => {
    const sleep = registry.get('sleep')!;
    const p = { durationMs: 0, failureRate: 0, failAttempts: 2 };
    await expect(sleep.run(p, ctx(1))).rejects.toThrow(/attempt 1/);
    await expect(sleep.run(p, ctx(2))).rejects.toThrow(/attempt 2/);
    await expect(sleep.run(p, ctx(3))).resolves.toEqual({ sleptMs: 0 });
  });

  test('sleep stops when its signal aborts', async () => {
    const ac = new AbortController();
    const run = registry
      .get('sleep')!
      .run({ durationMs: 60_000, failureRate: 0, failAttempts: 0 }, ctx(1, ac.signal));
    ac.abort(new Error('stop'));
    await expect(run).rejects.toThrow('stop');
  });
});
