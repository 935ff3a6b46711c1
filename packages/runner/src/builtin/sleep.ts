import { SleepPayload } from '@hourglass/contracts';
import { defineHandler } from '../handler.js';

/** Simulated work of the original design: takes a while, then fails with some probability. */
export const sleepHandler = defineHandler({
  type: 'sleep',
  payload: SleepPayload,
  handle: async (p, ctx) => {
    await abortableSleep(p.durationMs, ctx.signal);
    if (ctx.attempt <= p.failAttempts) throw new Error(`simulated failure on attempt ${ctx.attempt}`);
    if (Math.random() < p.failureRate) throw new Error('simulated random failure');
    return { sleptMs: p.durationMs };
  },
});

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
