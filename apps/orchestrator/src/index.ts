/** What other workspace packages (the test kit) use of the orchestrator. */
export { OrchestratorEnv } from './config.js';
export { migrate } from './db/migrate.js';
export { createOrchestrator, type Orchestrator } from './orchestrator.js';
