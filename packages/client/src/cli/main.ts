#!/usr/bin/env node
/**
 * `hourglass`, the command line: reads HOURGLASS_URL and HOURGLASS_API_KEY (flags override), runs one command and
 * exits with a code a script can test (context.ts, EXIT).
 */
import { CommanderError } from 'commander';
import { HourglassError } from '../index.js';
import { Cli, EXIT } from './context.js';
import { buildProgram } from './program.js';

const cli = new Cli(
  (text) => process.stdout.write(`${text}\n`),
  (text) => process.stderr.write(`${text}\n`),
);
// Ctrl-C aborts the request in flight (a `jobs wait` long-poll included); a second one ends the process at once.
process.once('SIGINT', () => {
  cli.interrupt.abort();
  process.once('SIGINT', () => process.exit(EXIT.INTERRUPTED));
});

try {
  await buildProgram(cli).parseAsync(process.argv);
  process.exitCode = cli.exitCode;
} catch (err) {
  process.exitCode = exitCodeFor(err);
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help, or the version) already.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.OK : EXIT.USAGE;
  }
  if (cli.interrupt.signal.aborted) {
    cli.stderr('interrupted');
    return EXIT.INTERRUPTED;
  }
  if (err instanceof HourglassError) {
    cli.stderr(describe(err));
    return EXIT.REFUSED;
  }
  cli.stderr(`error: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.REFUSED;
}

/** The problem's detail first (what a person needs), then its status and code, each bad field, and a hint. */
function describe(err: HourglassError): string {
  const lines = [`error: ${err.detail} (${err.status ? `${err.status} ` : ''}${err.code})`];
  for (const e of err.errors) lines.push(`  ${e.field}: ${e.message}`);
  if (err.status === 0) lines.push('Is the orchestrator running there? Set HOURGLASS_URL or --url.');
  if (err.status === 401) lines.push('Set HOURGLASS_API_KEY or --api-key (pnpm start prints an admin key).');
  return lines.join('\n');
}
