import { BUILTIN_PAYLOADS } from '@hourglass/contracts';
import { defineHandler } from '../handler.js';

/** Succeeds with its payload as the result. */
export const echoHandler = defineHandler({
  type: 'echo',
  payload: BUILTIN_PAYLOADS.echo,
  handle: async (payload) => payload ?? null,
});
