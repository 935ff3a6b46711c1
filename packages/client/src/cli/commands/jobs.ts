import { JobKind, JobStatus } from '@hourglass/contracts';
import { type Command, Option } from 'commander';
import { type CreateJobInput, type Execution, isFinal, type Job } from '../../index.js';
import {
  type Cli,
  count,
  duration,
  EXIT,
  integer,
  json,
  positiveId,
  usage,
  wholeSeconds,
} from '../context.js';
import { cell, fields, table } from '../output.js';

interface CreateFlags {
  payload?: unknown;
  runAt?: string;
  delay?: number;
  cron?: string;
  timezone?: string;
  every?: number;
  startAt?: string;
  maxAttempts?: number;
  priority?: number;
  idempotencyKey?: string;
}

const TIMING = ['runAt', 'delay', 'cron', 'every'];

export function jobsCommand(program: Command, cli: Cli): void {
  const jobs = program.command('jobs').description('create, inspect, wait for and control jobs');

  jobs
    .command('create')
    .description(
      'create a job: now, later (--run-at, --delay), on a cron (--cron) or every interval (--every)',
    )
    .argument('<type>', 'job type: a built-in one (echo, noop, sleep, webhook) or one your runner serves')
    .option('--payload <json>', 'the payload, as JSON', json)
    .addOption(
      new Option('--run-at <iso>', 'run once at this time (ISO 8601)').conflicts(without(TIMING, 'runAt')),
    )
    .addOption(
      new Option('--delay <duration>', 'run once after this long (10s, 1h30m)')
        .argParser(duration)
        .conflicts(without(TIMING, 'delay')),
    )
    .addOption(
      new Option(
        '--cron <expr>',
        "run on a cron expression (5 fields, or 6 with seconds first: '*/10 * * * * *')",
      ).conflicts(without(TIMING, 'cron')),
    )
    .option('--timezone <tz>', 'IANA time zone the cron expression is read in (default UTC)')
    .addOption(
      new Option('--every <duration>', 'run every interval (30s, 1h; whole seconds)')
        .argParser(wholeSeconds)
        .conflicts(without(TIMING, 'every')),
    )
    .option('--start-at <iso>', 'with --every: the first run (default: one interval from now)')
    .option(
      '--max-attempts <n>',
      'attempts in all, counting the first (default: the type’s, else 3)',
      integer,
    )
    .option('--priority <n>', 'higher runs first, -1000 to 1000 (default 0)', integer)
    .option('--idempotency-key <key>', 'creating again with the same key returns the same job')
    .action(async (type: string, flags: CreateFlags, cmd: Command) => {
      if (flags.timezone !== undefined && flags.cron === undefined)
        cmd.error('error: --timezone needs --cron', usage);
      if (flags.startAt !== undefined && flags.every === undefined)
        cmd.error('error: --start-at needs --every', usage);
      const body: CreateJobInput = {
        type,
        payload: flags.payload,
        runAt: flags.runAt,
        delayMs: flags.delay,
        scheduleExpression: flags.cron,
        timezone: flags.timezone,
        intervalSeconds: flags.every,
        startAt: flags.startAt,
        maxAttempts: flags.maxAttempts,
        priority: flags.priority,
      };
      const job = await cli
        .client(cmd)
        .createJob(body, { ...cli.call, idempotencyKey: flags.idempotencyKey });
      for (const w of job.warnings ?? []) cli.note(`warning: ${w.code}: ${w.message}`);
      // A recurring job is final only once cancelled: its runs are what to follow.
      const next =
        job.kind === 'once'
          ? `wait for it: hourglass jobs wait ${job.id}`
          : `its runs: hourglass jobs executions ${job.id}`;
      cli.print(cmd, job, (j) => `${describeJob(j)}\n\n${next}`);
    });

  jobs
    .command('get')
    .description('one job: status, schedule, last execution with its result or error')
    .argument('<id>', 'job id', positiveId)
    .action(async (id: number, _flags: object, cmd: Command) => {
      cli.print(cmd, await cli.client(cmd).getJob(id, cli.call), describeJob);
    });

  jobs
    .command('list')
    .description('jobs, newest first')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(JobStatus.options))
    .option('--type <type>', 'only jobs of this type')
    .addOption(new Option('--kind <kind>', 'only one-shot, cron or interval jobs').choices(JobKind.options))
    .option('--limit <n>', 'at most this many (default 20)', count, 20)
    .action(
      async (flags: { status?: JobStatus; type?: string; kind?: JobKind; limit: number }, cmd: Command) => {
        const listed: Job[] = [];
        const filter = { status: flags.status, type: flags.type, kind: flags.kind };
        for await (const job of cli
          .client(cmd)
          .listJobs(filter, { ...cli.call, pageSize: Math.min(flags.limit, 500) })) {
          listed.push(job);
          if (listed.length >= flags.limit) break;
        }
        cli.print(cmd, listed, (list) =>
          table(
            ['ID', 'TYPE', 'KIND', 'STATUS', 'PRIORITY', 'RUN AT', 'NEXT RUN', 'FINISHED'],
            list.map((j) => [j.id, j.type, j.kind, j.status, j.priority, j.runAt, j.nextRunAt, j.finishedAt]),
          ),
        );
      },
    );

  jobs
    .command('wait')
    .description(
      `wait until the job is final and show it; exit code ${EXIT.OK} if it SUCCEEDED, ${EXIT.NOT_SUCCEEDED} if it FAILED or was CANCELLED, ${EXIT.STILL_RUNNING} if still not final after --timeout`,
    )
    .argument('<id>', 'job id', positiveId)
    .option('--timeout <duration>', 'give up after this long (default: wait until it is final)', duration)
    .action(async (id: number, flags: { timeout?: number }, cmd: Command) => {
      const job = await cli.client(cmd).waitForJob(id, { ...cli.call, maxWaitMs: flags.timeout });
      cli.print(cmd, job, describeJob);
      if (!isFinal(job.status)) {
        cli.note(`job ${id} is still ${job.status}`);
        cli.exitCode = EXIT.STILL_RUNNING;
      } else if (job.status !== 'SUCCEEDED') {
        cli.exitCode = EXIT.NOT_SUCCEEDED;
      }
    });

  const change = (
    name: string,
    what: string,
    call: (c: ReturnType<Cli['client']>, id: number) => Promise<Job>,
  ) =>
    jobs
      .command(name)
      .description(what)
      .argument('<id>', 'job id', positiveId)
      .action(async (id: number, _flags: object, cmd: Command) => {
        cli.print(cmd, await call(cli.client(cmd), id), (j) => `job ${j.id}: ${j.status}`);
      });
  change('cancel', 'cancel: no more runs; a running one is aborted through its runner', (c, id) =>
    c.cancelJob(id, cli.call),
  );
  change('pause', 'pause a recurring job: no new occurrences until resumed', (c, id) =>
    c.pauseJob(id, cli.call),
  );
  change('resume', 'resume a paused job from its next occurrence', (c, id) => c.resumeJob(id, cli.call));

  jobs
    .command('trigger')
    .description('run now: a waiting attempt moves to now; a recurring job gets an extra occurrence')
    .argument('<id>', 'job id', positiveId)
    .action(async (id: number, _flags: object, cmd: Command) => {
      cli.print(
        cmd,
        await cli.client(cmd).triggerJob(id, cli.call),
        (e) => `job ${e.jobId} triggered: execution ${e.id} (attempt ${e.attempt}), ${e.status}`,
      );
    });

  jobs
    .command('executions')
    .description("a job's executions (attempts), newest first")
    .argument('<id>', 'job id', positiveId)
    .option('--limit <n>', 'at most this many (default 20)', count, 20)
    .action(async (id: number, flags: { limit: number }, cmd: Command) => {
      const listed: Execution[] = [];
      for await (const e of cli
        .client(cmd)
        .listJobExecutions(id, { ...cli.call, pageSize: Math.min(flags.limit, 500) })) {
        listed.push(e);
        if (listed.length >= flags.limit) break;
      }
      cli.print(cmd, listed, executionTable);
    });
}

export function describeJob(j: Job): string {
  const e = j.lastExecution;
  const s = j.schedule;
  return fields([
    ['job', j.id],
    ['type', j.type],
    ['status', j.status],
    ['kind', j.kind],
    [
      'schedule',
      s
        ? `${s.scheduleExpression ? `cron '${s.scheduleExpression}' in ${s.timezone ?? 'UTC'}` : `every ${s.intervalSeconds} s`}, overlap ${s.overlapPolicy}, catch-up ${s.catchUpPolicy}`
        : undefined,
    ],
    ['next run', s ? j.nextRunAt : undefined],
    ['run at', j.runAt],
    ['priority', j.priority],
    ['attempts', `${e?.attempt ?? 0} of ${j.maxAttempts}`],
    ['payload', j.payload],
    ['created', j.createdAt],
    ['finished', j.finishedAt],
    ['last execution', e ? `${e.id} (attempt ${e.attempt}): ${e.status}` : undefined],
    ['result', e?.status === 'SUCCEEDED' ? cell(e.result) : undefined],
    ['error', e?.error ? `${e.error}${e.errorCode ? ` (${e.errorCode})` : ''}` : undefined],
    ['progress', e?.progress ?? undefined],
  ]);
}

export function executionTable(list: Execution[]): string {
  return table(
    ['ID', 'JOB', 'ATTEMPT', 'STATUS', 'SCHEDULED FOR', 'FINISHED', 'ERROR'],
    list.map((e) => [e.id, e.jobId, e.attempt, e.status, e.scheduledFor, e.finishedAt, e.error]),
  );
}

function without(all: string[], one: string): string[] {
  return all.filter((x) => x !== one);
}
