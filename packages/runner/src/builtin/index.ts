/**
 * `@hourglass/runner/builtin`: the built-in job types (`noop`, `echo`, `sleep`, `webhook`), for a runner of your
 * own that should also serve them, and the webhook signature and outbound-address policy they use.
 */
import type { Handler } from '../handler.js';
import { echoHandler } from './echo.js';
import { noopHandler } from './noop.js';
import { sleepHandler } from './sleep.js';
import { createWebhookHandler, type WebhookSettings } from './webhook/webhook.js';

export { echoHandler } from './echo.js';
export { noopHandler } from './noop.js';
export { sleepHandler } from './sleep.js';
export { isPrivateAddress, refusedLiteral } from './webhook/outbound-policy.js';
export { SIGNATURE_HEADER, sign, verify } from './webhook/signature.js';
export { createWebhookHandler, USER_AGENT, WebhookError, type WebhookSettings } from './webhook/webhook.js';

/** Every built-in handler, the webhook one with `webhook` settings. */
export function builtinHandlers(settings: { webhook?: WebhookSettings } = {}): Handler[] {
  return [noopHandler, echoHandler, sleepHandler, createWebhookHandler(settings.webhook)];
}
