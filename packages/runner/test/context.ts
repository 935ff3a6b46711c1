import { pino } from 'pino';
import type { HandlerContext } from '../src/handler.js';

/** A handler context as the runner builds one, for calling a handler directly. */
export function testContext(overrides: Partial<HandlerContext> = {}): HandlerContext {
  return {
    executionId: 1,
    jobId: 1,
    attempt: 1,
    maxAttempts: 3,
    type: 'test',
    scheduledFor: new Date().toISOString(),
    idempotencyKey: String(overrides.jobId ?? 1),
    parents: [],
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    progress: () => {},
    ...overrides,
  };
}
