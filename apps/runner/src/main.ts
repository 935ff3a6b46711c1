import { ConfigError, createLogger } from '@hourglass/runtime';
import { loadConfig } from './config.js';
import { Runner } from './runner.js';

/** Reads config, runs one runner until SIGTERM/SIGINT (or a drain request), then stops gracefully. */
async function main() {
  const config = loadConfig();
  const log = createLogger('runner', config.LOG_LEVEL, config.LOG_FORMAT);
  const runner = new Runner(config, log);
  const stop = (why: string) => {
    log.info({ why }, 'stopping');
    runner.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  void runner.drainRequested.then(() => stop('drain requested'));
  await runner.start();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
