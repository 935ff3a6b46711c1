import type { Command } from 'commander';
import type { DeadLetter } from '../../index.js';
import { type Cli, count, positiveId } from '../context.js';
import { table } from '../output.js';

export function deadLettersCommand(program: Command, cli: Cli): void {
  const deadLetters = program
    .command('dead-letters')
    .description('jobs whose attempts ran out (or failed permanently), and running them again');

  deadLetters
    .command('list')
    .description('dead letters, newest first')
    .option('--include-requeued', 'also those already requeued')
    .option('--limit <n>', 'at most this many (default 20)', count, 20)
    .action(async (flags: { includeRequeued?: boolean; limit: number }, cmd: Command) => {
      const listed: DeadLetter[] = [];
      for await (const d of cli
        .client(cmd)
        .listDeadLetters(
          { includeRequeued: flags.includeRequeued },
          { ...cli.call, pageSize: Math.min(flags.limit, 500) },
        )) {
        listed.push(d);
        if (listed.length >= flags.limit) break;
      }
      cli.print(cmd, listed, (list) =>
        table(
          ['ID', 'JOB', 'EXECUTION', 'TYPE', 'ATTEMPTS', 'ERROR', 'CREATED', 'REQUEUED'],
          list.map((d) => [
            d.id,
            d.jobId,
            d.executionId,
            d.type,
            d.attempts,
            d.error,
            d.createdAt,
            d.requeuedAt,
          ]),
        ),
      );
    });

  deadLetters
    .command('requeue')
    .description('run the job again with a fresh retry budget')
    .argument('<id>', 'dead letter id (the ID column of dead-letters list)', positiveId)
    .action(async (id: number, _flags: object, cmd: Command) => {
      cli.print(
        cmd,
        await cli.client(cmd).requeueDeadLetter(id, cli.call),
        (e) => `dead letter ${id} requeued: job ${e.jobId} runs again as execution ${e.id}, ${e.status}`,
      );
    });
}
