import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { table } from '../output.js';

export function runnersCommand(program: Command, cli: Cli): void {
  const runners = program.command('runners').description('the processes that run jobs');

  runners
    .command('list')
    .description('runners with status and load')
    .option('--include-offline', 'also runners that stopped heartbeating')
    .action(async (flags: { includeOffline?: boolean }, cmd: Command) => {
      const list = await cli.client(cmd).listRunners({ includeOffline: flags.includeOffline }, cli.call);
      cli.print(cmd, list, (rs) =>
        table(
          ['ID', 'NAME', 'HOST', 'STATUS', 'RUNNING', 'TYPES', 'LAST HEARTBEAT'],
          rs.map((r) => [
            r.id,
            r.name,
            r.host,
            r.status,
            `${r.running}/${r.capacity}`,
            r.types.join(','),
            r.lastHeartbeatAt,
          ]),
        ),
      );
    });

  runners
    .command('drain')
    .description('ask a runner to finish what it holds and stop (needs an admin key)')
    .argument('<id>', 'runner id (a UUID, from runners list)')
    .action(async (id: string, _flags: object, cmd: Command) => {
      cli.print(cmd, await cli.client(cmd).drainRunner(id, cli.call), (r) => `runner ${r.id}: ${r.status}`);
    });
}
