import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { deadLettersCommand } from './commands/dead-letters.js';
import { eventsCommand } from './commands/events.js';
import { executionsCommand } from './commands/executions.js';
import { jobsCommand } from './commands/jobs.js';
import { runnersCommand } from './commands/runners.js';
import { timersCommand } from './commands/timers.js';
import { type Cli, duration } from './context.js';

/** The package's own version (src/cli and dist/cli are both two levels below package.json). */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return (manifest as { version: string }).version;
}

/** `hourglass`: every command, with the options they share (recognised before or after the command's name). */
export function buildProgram(cli: Cli): Command {
  const program = new Command('hourglass')
    .description(
      'Hourglass from a terminal: jobs, timers, dead letters, runners and events.\n' +
        'Tables for people; --json for scripts (one JSON document on stdout).',
    )
    .version(version(), '-V, --version')
    .addOption(
      new Option('--url <url>', 'the orchestrator').env('HOURGLASS_URL').default('http://127.0.0.1:8080'),
    )
    .addOption(
      new Option('--api-key <key>', 'API key (client scope; admin for runners drain)').env(
        'HOURGLASS_API_KEY',
      ),
    )
    .option('--json', 'print the answer as JSON, and nothing else, on stdout')
    .option('--request-timeout <duration>', 'time limit of each request (default 30s)', duration)
    // Settings below are copied to every command added after them.
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => cli.stderr(s.trimEnd()) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 done; 1 the server refused the request or could not be reached; 2 bad usage;
  jobs wait: 3 the job FAILED or was CANCELLED, 4 still not final at --timeout.

Examples:
  hourglass jobs create echo --payload '{"a":1}'
  hourglass jobs wait 1
  hourglass jobs create noop --cron '0 9 * * 1-5' --timezone Europe/Berlin
  hourglass timers create 1h30m https://example.com/hook
  hourglass events --kinds 'job.*'
  hourglass jobs list --status FAILED --json | jq '.[].id'`,
    );
  jobsCommand(program, cli);
  executionsCommand(program, cli);
  deadLettersCommand(program, cli);
  timersCommand(program, cli);
  runnersCommand(program, cli);
  eventsCommand(program, cli);
  return program;
}
