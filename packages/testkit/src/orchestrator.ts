import { createOrchestrator, type Orchestrator, OrchestratorEnv } from '@hourglass/orchestrator';
import { pino } from 'pino';
import { type FreshDatabase, freshDatabase } from './database.js';

export interface TestOrchestrator extends Orchestrator {
  database: FreshDatabase;
  /** Base URL when started with `listen: true`. */
  url: string;
}

/**
 * An in-process orchestrator on its own fresh database (or on `database`, to run a second replica against the
 * same one). Settings are the production defaults unless overridden (e.g. a short LEASE_MS). Loops and LISTEN
 * run; HTTP is reached with `app.inject`, or over a real socket on 127.0.0.1 with `listen: true`.
 */
export async function startTestOrchestrator(
  opts: { env?: Record<string, string>; database?: FreshDatabase; listen?: boolean } = {},
): Promise<TestOrchestrator> {
  const database = opts.database ?? (await freshDatabase());
  // Authentication is tested on its own (auth tests pass AUTH_DISABLED: 'false'); elsewhere it is off.
  const config = OrchestratorEnv.parse({
    DATABASE_URL: database.url,
    PORT: '0',
    AUTH_DISABLED: 'true',
    ...opts.env,
  });
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const orchestrator = await createOrchestrator(config, log);
  await orchestrator.start();
  const url = opts.listen ? await orchestrator.listen() : '';
  return Object.assign(orchestrator, { database, url });
}

/** Closes the orchestrator and drops its database (unless another replica still uses it: pass `keepDb`). */
export async function stopTestOrchestrator(o: TestOrchestrator, keepDb = false): Promise<void> {
  await o.close();
  if (!keepDb) await o.database.drop();
}
