/**
 * `@hourglass/runner`: run your own code on Hourglass. Define handlers (a type, a zod schema for the payload, a
 * function), give them to `createRunner`, and `start` it.
 */

export type { ClaimedExecution, Outcome, ParentResult, ProgressValue } from '@hourglass/contracts';
export { PermanentError } from './errors.js';
export { defineHandler, type Handler, type HandlerContext, type RetryDefaults } from './handler.js';
export type { Logger } from './logger.js';
export { createRunner, type Runner, type RunnerHooks, type RunnerOptions } from './runner.js';
