import { createRunner } from '@hourglass/runner';
import { builtinHandlers } from '@hourglass/runner/builtin';
import { ConfigError, createLogger } from '@hourglass/runtime';
import { loadConfig, type RunnerConfig } from './config.js';
import { createRunnerMetrics, metricsHooks, serveMetrics } from './metrics.js';

/**
 * The runner program of `pnpm start` and the runner image: @hourglass/runner serving the built-in types that
 * RUNNER_TYPES names, configured from the environment, with its own /metrics. Runs until SIGTERM/SIGINT (or a drain
 * request), then stops gracefully and exits 0.
 */
async function main() {
  const config = loadConfig();
  const log = createLogger('runner', config.LOG_LEVEL, config.LOG_FORMAT);
  const metrics = createRunnerMetrics();
  const runner = createRunner({
    orchestratorUrl: config.ORCHESTRATOR_URL,
    apiKey: config.API_KEY,
    handlers: handlersOf(config),
    concurrency: config.RUNNER_CONCURRENCY,
    queues: config.RUNNER_QUEUES,
    name: config.RUNNER_NAME,
    defaultTimeoutMs: config.HANDLER_TIMEOUT_MS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    pollWaitSeconds: config.POLL_WAIT_SECONDS,
    reportBatchSize: config.REPORT_BATCH_SIZE,
    reportFlushMs: config.REPORT_FLUSH_MS,
    logger: log,
    hooks: metricsHooks(metrics),
    // This program exits itself once stopped (0 after a graceful stop), whatever stopped it.
    handleSignals: false,
  });
  const metricsServer =
    config.RUNNER_METRICS_PORT > 0
      ? await serveMetrics(metrics, config.RUNNER_METRICS_PORT, config.RUNNER_METRICS_HOST)
      : undefined;
  const stop = (why: string) => {
    log.info({ why }, 'stopping');
    void runner.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  void runner.stopped.then(() => {
    metricsServer?.close();
    process.exit(0);
  });
  await runner.start();
}

function handlersOf(config: RunnerConfig) {
  const all = builtinHandlers({
    webhook: {
      secret: config.WEBHOOK_SECRET,
      blockPrivateTargets: config.WEBHOOK_BLOCK_PRIVATE_TARGETS,
      connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    },
  });
  return all.filter((h) => (config.RUNNER_TYPES as string[]).includes(h.type));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
