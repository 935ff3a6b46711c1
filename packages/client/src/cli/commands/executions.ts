import type { Command } from 'commander';
import type { Execution } from '../../index.js';
import { type Cli, positiveId } from '../context.js';
import { fields } from '../output.js';

export function executionsCommand(program: Command, cli: Cli): void {
  const executions = program.command('executions').description('one execution (attempt) of a job');

  executions
    .command('get')
    .description('one execution: status, runner, timing, result or error, progress')
    .argument('<id>', 'execution id', positiveId)
    .action(async (id: number, _flags: object, cmd: Command) => {
      cli.print(cmd, await cli.client(cmd).getExecution(id, cli.call), describeExecution);
    });
}

export function describeExecution(e: Execution): string {
  return fields([
    ['execution', e.id],
    ['job', e.jobId],
    ['type', e.type],
    ['attempt', e.attempt],
    ['status', e.status],
    ['scheduled for', e.scheduledFor],
    ['claimed', e.claimedAt],
    ['started', e.startedAt],
    ['finished', e.finishedAt],
    ['runner', e.runnerId],
    ['result', e.status === 'SUCCEEDED' ? e.result : undefined],
    ['error', e.error ? `${e.error}${e.errorCode ? ` (${e.errorCode})` : ''}` : undefined],
    ['retryable', e.retryable ?? undefined],
    ['progress', e.progress ?? undefined],
  ]);
}
