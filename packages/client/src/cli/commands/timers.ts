import type { Command } from 'commander';
import { type Cli, integer, json, positiveId, wholeSeconds } from '../context.js';
import { formatSeconds } from '../durations.js';
import { fields } from '../output.js';

export function timersCommand(program: Command, cli: Cli): void {
  const timers = program.command('timers').description('call a URL once, after a while');

  timers
    .command('create')
    .description('POST to <url> once, after <duration> (1h30m, 45s)')
    .argument('<duration>', 'how long from now: 1h30m, 45s, 2d (whole seconds)', wholeSeconds)
    .argument('<url>', 'absolute http(s) URL to POST to')
    .option('--payload <json>', 'JSON sent in the body, as "payload"', json)
    .option('--max-attempts <n>', 'attempts in all (default 3)', integer)
    .option('--idempotency-key <key>', 'creating again with the same key returns the same timer')
    .action(
      async (
        total: number,
        url: string,
        flags: { payload?: unknown; maxAttempts?: number; idempotencyKey?: string },
        cmd: Command,
      ) => {
        const timer = await cli.client(cmd).createTimer(
          {
            hours: Math.floor(total / 3600),
            minutes: Math.floor((total % 3600) / 60),
            seconds: total % 60,
            url,
            payload: flags.payload,
            maxAttempts: flags.maxAttempts,
          },
          { ...cli.call, idempotencyKey: flags.idempotencyKey },
        );
        cli.print(
          cmd,
          timer,
          (t) =>
            `timer ${t.id} created: fires in ${formatSeconds(t.time_left)}\n\nfollow it: hourglass timers get ${t.id}`,
        );
      },
    );

  timers
    .command('get')
    .description('a timer: time left, status, attempts, last error')
    .argument('<id>', 'timer id', positiveId)
    .action(async (id: number, _flags: object, cmd: Command) => {
      cli.print(cmd, await cli.client(cmd).getTimer(id, cli.call), (t) =>
        fields([
          ['timer', t.id],
          ['status', t.status],
          ['time left', formatSeconds(t.time_left)],
          ['url', t.url],
          ['fires at', t.fire_at],
          ['fired at', t.fired_at],
          ['attempts', t.attempts],
          ['last error', t.last_error],
        ]),
      );
    });
}
