import { z } from 'zod';
import { defineHandler, sleep as wait } from './handler.js';

/** Simulated work of the original design: takes a while, then fails with some probability. */
export const sleepHandler = defineHandler({
  type: 'sleep',
  payload: z
    .strictObject({
      durationMs: z.number().int().min(0).max(3_600_000).default(1000),
      failureRate: z.number().min(0).max(1).default(0),
      /** Deterministic failures for demos and tests: attempts 1..failAttempts fail, later ones succeed. */
      failAttempts: z.number().int().min(0).max(100).default(0),
    })
    .default({ durationMs: 1000, failureRate: 0, failAttempts: 0 }),
  run: async (p, ctx) => {
    await wait(p.durationMs, ctx.signal);
    if (ctx.attempt <= p.failAttempts) throw new Error(`simulated failure on attempt ${ctx.attempt}`);
    if (Math.random() < p.failureRate) throw new Error('simulated random failure');
    return { sleptMs: p.durationMs };
  },
});
