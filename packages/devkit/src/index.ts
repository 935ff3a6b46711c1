export * from './dev-database.js';
export * from './leftovers.js';
export * from './log-format.js';
export * from './processes.js';
