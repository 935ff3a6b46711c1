import { ConfigError, createLogger } from '@hourglass/runtime';
import { loadConfig } from './config.js';
import { migrate } from './db/migrate.js';
import { createOrchestrator } from './orchestrator.js';

/** Reads config, migrates, boots one orchestrator replica, and shuts it down cleanly on SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig();
  const log = createLogger('orchestrator', config.LOG_LEVEL, config.LOG_FORMAT);
  if (config.MIGRATE_ON_START) {
    const applied = await migrate(config.DATABASE_URL);
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  const orchestrator = await createOrchestrator(config, log);
  await orchestrator.start();
  const address = await orchestrator.listen();
  log.info({ address }, 'orchestrator listening');

  let closing = false;
  const shutdown = (sig: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal: sig }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    orchestrator.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
