import { BUILTIN_PAYLOADS } from '@hourglass/contracts';
import { defineHandler } from '../handler.js';

/** Does nothing and succeeds: the unit of the throughput benchmark. */
export const noopHandler = defineHandler({
  type: 'noop',
  payload: BUILTIN_PAYLOADS.noop,
  handle: async () => null,
});
