/**
 * `@hourglass/client`: the Hourglass HTTP API as typed calls, on `fetch` (Node.js ≥ 20 and browsers).
 *
 *     import { HourglassClient } from '@hourglass/client';
 *     const hourglass = new HourglassClient({ url: 'http://127.0.0.1:8080', apiKey: process.env.HOURGLASS_API_KEY });
 */
export {
  type CreateOptions,
  type EventsOptions,
  type GetJobOptions,
  HourglassClient,
  type HourglassClientOptions,
  isFinal,
  type ListOptions,
  type PageOptions,
  type WaitOptions,
} from './client.js';
export { type ClientErrorCode, HourglassError } from './errors.js';
export { newIdempotencyKey } from './idempotency-key.js';
export type { CallOptions, RetryOptions } from './transport.js';
export type * from './types.js';
