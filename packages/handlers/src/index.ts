export type { Handler, HandlerContext, HandlerSettings } from './handler.js';
export { defineHandler, sleep } from './handler.js';
export { checkPayload, knownTypes, registry } from './registry.js';
export { isPrivateAddress, refusedLiteral } from './webhook/outbound-policy.js';
export { SIGNATURE_HEADER, sign, verify } from './webhook/signature.js';
export { USER_AGENT, type WebhookSettings } from './webhook/webhook.js';
