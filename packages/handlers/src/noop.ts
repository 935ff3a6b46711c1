import { z } from 'zod';
import { defineHandler } from './handler.js';

/** Does nothing and succeeds: the unit of the throughput benchmark. */
export const noopHandler = defineHandler({
  type: 'noop',
  payload: z.unknown(),
  run: async () => null,
});
