/** What other workspace packages (the test kit) use of the orchestrator. */
export { DEFAULT_RETENTION, OrchestratorEnv } from './config.js';
export { createDatabase } from './db/database.js';
export { migrate } from './db/migrate.js';
export { JobLifecycle } from './lifecycle/job-lifecycle.js';
export { cleanKind } from './loops/cleaner.js';
export { createOrchestrator, type Orchestrator } from './orchestrator.js';
export type { Retention } from './queue/clean-history.js';
export { type NewJob, oneShotJob } from './queue/insert-jobs.js';
export { sequenceEvents } from './queue/sequence-events.js';
