export type { Handler, HandlerContext } from './handler.js';
export { defineHandler, sleep } from './handler.js';
export { checkPayload, knownTypes, registry } from './registry.js';
