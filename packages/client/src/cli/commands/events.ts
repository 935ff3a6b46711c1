import type { Command } from 'commander';
import type { EventFilter, HourglassEvent } from '../../index.js';
import { type Cli, positiveId, usage } from '../context.js';
import { cell } from '../output.js';

/** `0` or a positive id: where to start. */
function eventId(text: string): number {
  return text === '0' ? 0 : positiveId(text);
}

/** One event on one line: time, id, kind, then what it is about and its data. */
function describeEvent(e: HourglassEvent): string {
  const about = [
    e.jobId !== null ? `job ${e.jobId}${e.jobType ? ` (${e.jobType})` : ''}` : undefined,
    e.executionId !== null ? `execution ${e.executionId}` : undefined,
    e.runnerId !== null ? `runner ${e.runnerId}` : undefined,
  ].filter(Boolean);
  const data = Object.keys(e.data).length > 0 ? JSON.stringify(e.data) : '';
  return [cell(e.at), String(e.id), e.kind.padEnd(25), about.join(', '), data].join('  ').trimEnd();
}

export function eventsCommand(program: Command, cli: Cli): void {
  program
    .command('events')
    .description(
      'follow what happens (GET /events), one event per line, until Ctrl-C; reconnects by itself without missing one',
    )
    .option('--job <id>', 'events of this job only', positiveId)
    .option('--type <type>', 'events of jobs of this type only')
    .option('--kinds <list>', 'comma-separated kinds or prefixes: job.succeeded,execution.*')
    .option(
      '--after <id>',
      'start after this event id (0: everything kept); default: new events only',
      eventId,
    )
    .option('--no-follow', 'print what exists and exit instead of waiting for new events')
    .addHelpText(
      'after',
      `
With --json, each event is one line of JSON (JSON Lines).

Examples:
  hourglass events --kinds 'job.succeeded,job.failed'
  hourglass events --job 17 --after 0 --no-follow --json | jq .kind`,
    )
    .action(
      async (
        flags: { job?: number; type?: string; kinds?: string; after?: number; follow: boolean },
        cmd: Command,
      ) => {
        const kinds = flags.kinds
          ?.split(',')
          .map((k) => k.trim())
          .filter(Boolean) as EventFilter['kinds'];
        if (flags.kinds !== undefined && kinds?.length === 0) cmd.error('--kinds names no kind', usage);
        const filter: EventFilter = { jobId: flags.job, type: flags.type, kinds, after: flags.after };
        for await (const event of cli.client(cmd).events(filter, {
          signal: cli.interrupt.signal,
          follow: flags.follow,
          onReconnect: ({ delayMs }) =>
            cli.note(`connection lost; reconnecting in ${Math.round(delayMs)} ms`),
        })) {
          cli.printLine(cmd, event, describeEvent);
        }
      },
    );
}
