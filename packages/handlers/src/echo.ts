import { z } from 'zod';
import { defineHandler } from './handler.js';

/** Succeeds with its payload as the result. */
export const echoHandler = defineHandler({
  type: 'echo',
  payload: z.unknown(),
  run: async (payload) => payload ?? null,
});
