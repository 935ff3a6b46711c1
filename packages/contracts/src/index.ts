export * from './api-keys.js';
export * from './common.js';
export * from './dead-letters.js';
export * from './executions.js';
export * from './jobs.js';
export * from './problem.js';
export * from './runners.js';
export * from './timers.js';
