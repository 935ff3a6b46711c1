import { sleepHandler } from '@hourglass/runner/builtin';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { PermanentError } from '../src/errors.js';
import { errorMessage, execute, idempotencyKeyOf } from '../src/executor.js';
import { defineHandler, type Handler } from '../src/handler.js';

const execution = (type: string, payload: unknown, timeoutMs: number | null = null) => ({
  id: 1,
  jobId: 7,
  type,
  payload,
  attempt: 2,
  maxAttempts: 4,
  scheduledFor: new Date().toISOString(),
  leaseExpiresAt: new Date().toISOString(),
  timeoutMs,
  occurrenceId: null,
});

const progress: unknown[] = [];
const opts = {
  defaultTimeoutMs: 60_000,
  logger: pino({ level: 'silent' }),
  onProgress: (v: unknown) => progress.push(v),
};
const run = (handler: Handler | undefined, payload: unknown, timeoutMs: number | null = null) =>
  execute(execution(handler?.type ?? 'nope', payload, timeoutMs), handler, opts);

const Order = z.object({ id: z.number().int(), note: z.string().default('none') });

describe('execute', () => {
  test('the handler gets its parsed payload (defaults filled) and the context; its result is the outcome', async () => {
    const seen: unknown[] = [];
    const h = defineHandler({
      type: 'order',
      payload: Order,
      handle: (p, ctx) => {
        seen.push(p, ctx.jobId, ctx.executionId, ctx.attempt, ctx.maxAttempts, ctx.type, ctx.signal.aborted);
        return { total: p.id * 2 };
      },
    });
    const outcome = await run(h, { id: 21 }).done;
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', result: { total: 42 } });
    expect(Date.parse(outcome.startedAt!)).toBeLessThanOrEqual(Date.now());
    expect(seen).toEqual([{ id: 21, note: 'none' }, 7, 1, 2, 4, 'order', false]);
  });

  test('a payload the schema rejects fails for good with PAYLOAD_INVALID, without running the handler', async () => {
    let ran = false;
    const h = defineHandler({ type: 'order', payload: Order, handle: () => (ran = true) });
    expect(await run(h, { id: 'x' }).done).toMatchObject({
      status: 'FAILED',
      retryable: false,
      code: 'PAYLOAD_INVALID',
      error: expect.stringMatching(/^payload\.id: /),
    });
    expect(ran).toBe(false);
  });

  test('a thrown error is a retryable failure carrying the message and a string code', async () => {
    const h = defineHandler({
      type: 'api',
      handle: () => {
        throw Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' });
      },
    });
    const outcome = await run(h, null).done;
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'connect refused', code: 'ECONNREFUSED' });
    expect(outcome).not.toHaveProperty('retryable');
  });

  test('PermanentError is a failure that is not retried, with its code', async () => {
    const h = defineHandler({
      type: 'charge',
      handle: async () => {
        throw new PermanentError('card declined', { code: 'CARD_DECLINED' });
      },
    });
    expect(await run(h, null).done).toMatchObject({
      status: 'FAILED',
      retryable: false,
      code: 'CARD_DECLINED',
      error: 'card declined',
    });
  });

  test('a result that cannot be JSON fails for good instead of blocking the reports', async () => {
    const h = defineHandler({ type: 'big', handle: () => ({ n: 10n }) });
    expect(await run(h, null).done).toMatchObject({
      status: 'FAILED',
      retryable: false,
      code: 'RESULT_INVALID',
    });
  });

  test('progress reports reach the runner; a bad one throws in the handler', async () => {
    progress.length = 0;
    const h = defineHandler({
      type: 'long',
      handle: (_p, ctx) => {
        ctx.progress(10);
        ctx.progress({ done: 3, of: 9 });
        ctx.progress(101);
      },
    });
    expect(await run(h, null).done).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/progress must be/),
    });
    expect(progress).toEqual([10, { done: 3, of: 9 }]);
  });

  test('the job timeout aborts the handler and fails the attempt; the handler timeout applies when the job has none', async () => {
    const r = run(sleepHandler, { durationMs: 60_000 }, 50);
    expect(await r.done).toMatchObject({ status: 'FAILED', error: 'handler timed out after 50 ms' });
    expect(r.controller.signal.aborted).toBe(true);
    const own = defineHandler({
      type: 'slow',
      timeoutMs: 30,
      handle: (_p, ctx) => new Promise((_, no) => ctx.signal.addEventListener('abort', no)),
    });
    expect(await run(own, null).done).toMatchObject({
      status: 'FAILED',
      error: 'handler timed out after 30 ms',
    });
  });

  test('cancellation aborts the handler and reports CANCELLED', async () => {
    const r = run(sleepHandler, { durationMs: 60_000 });
    r.abort('cancelled');
    expect(await r.done).toMatchObject({ status: 'CANCELLED' });
  });

  test('shutdown aborts and reports a failure, so the attempt is retried', async () => {
    const r = run(sleepHandler, { durationMs: 60_000 });
    r.abort('shutdown');
    expect(await r.done).toMatchObject({
      status: 'FAILED',
      error: 'runner shut down before the handler finished',
    });
  });

  test('an unknown type fails without running anything', async () => {
    expect(await run(undefined, {}).done).toMatchObject({ status: 'FAILED' });
  });
});

describe('idempotencyKeyOf', () => {
  test('the job id for its first occurrence, job id and occurrence after', () => {
    expect(idempotencyKeyOf({ jobId: 12, occurrenceId: null })).toBe('12');
    expect(idempotencyKeyOf({ jobId: 12, occurrenceId: 7 })).toBe('12-7');
  });
});

describe('defineHandler', () => {
  test('refuses a type name the orchestrator would refuse', () => {
    expect(() => defineHandler({ type: 'Send Email', handle: () => null })).toThrow(/lowercase/);
    expect(() => defineHandler({ type: 'ok', timeoutMs: 0, handle: () => null })).toThrow(/timeoutMs/);
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
