import type { ExecutionStatus, JobStatus } from '@hourglass/contracts';
import { AppError, type ErrorCode } from '../errors.js';

export type { ExecutionStatus, JobStatus };
export type JobKind = 'once' | 'cron' | 'interval';

/**
 * The job state machine, as data: for each command a client can give a job, the states it is allowed from and the
 * state it leads to, per kind of job. The lifecycle (job-lifecycle.ts) decides every command with `decide()`
 * against this table after locking the job, and docs/lifecycle.md prints it (a test keeps the two equal). The
 * outcomes of work (claims, reports, lease expiry, retries) are set-based statements; their rows are in
 * OUTCOME_TRANSITIONS below, and the same test walks each of them.
 */
export type JobCommand = 'cancel' | 'pause' | 'resume' | 'reschedule' | 'trigger' | 'requeue' | 'delete';

export interface CommandRule {
  command: JobCommand;
  /** Which jobs the row is about: one-shot, recurring (cron or interval), or both. */
  kinds: 'once' | 'recurring' | 'any';
  from: readonly JobStatus[];
  /**
   * The job's status afterwards; `unchanged` keeps it (the command changes executions or the schedule only);
   * `deleted`: the job and its history are gone.
   */
  to: JobStatus | 'unchanged' | 'deleted';
  /** What happens to executions and occurrences, in words (printed in the docs). */
  effect: string;
}

export interface Refusal {
  command: JobCommand | readonly JobCommand[];
  kinds: 'once' | 'recurring' | 'any';
  /** The states (or, with `from: 'any'`, every state) where the command is refused, and the error it gets. */
  from: readonly JobStatus[] | 'any';
  code: ErrorCode;
  reason: string;
}

export const JOB_STATUSES: readonly JobStatus[] = [
  'WAITING',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
];

export const COMMAND_RULES: readonly CommandRule[] = [
  {
    command: 'cancel',
    kinds: 'any',
    from: ['WAITING', 'SCHEDULED', 'RUNNING', 'PAUSED', 'CANCELLED'],
    to: 'CANCELLED',
    effect:
      'PENDING executions CANCELLED; RUNNING ones flagged, their runner told to abort; queued occurrences SKIPPED; waiting dependents follow their onParentFailure',
  },
  {
    command: 'pause',
    kinds: 'recurring',
    from: ['SCHEDULED', 'RUNNING', 'PAUSED'],
    to: 'PAUSED',
    effect:
      'PENDING executions CANCELLED, queued occurrences SKIPPED; a RUNNING one finishes; no retries while paused',
  },
  {
    command: 'resume',
    kinds: 'recurring',
    from: ['PAUSED'],
    to: 'SCHEDULED',
    effect: 'next occurrence after now; occurrences that fell in the pause are not run',
  },
  {
    command: 'reschedule',
    kinds: 'recurring',
    from: ['SCHEDULED', 'RUNNING', 'PAUSED'],
    to: 'unchanged',
    effect:
      'new schedule or policies; next occurrence recomputed from now (a paused job picks it up on resume)',
  },
  {
    command: 'trigger',
    kinds: 'once',
    from: ['SCHEDULED'],
    to: 'SCHEDULED',
    effect: 'the waiting attempt (first or retry) is due now; never a second execution',
  },
  {
    command: 'trigger',
    kinds: 'once',
    from: ['SUCCEEDED', 'FAILED'],
    to: 'SCHEDULED',
    effect: 'a new occurrence: execution at attempt 1, due now',
  },
  {
    command: 'trigger',
    kinds: 'recurring',
    from: ['SCHEDULED', 'RUNNING', 'PAUSED'],
    to: 'unchanged',
    effect: 'one extra occurrence now; the schedule is unchanged',
  },
  {
    command: 'requeue',
    kinds: 'any',
    from: ['SUCCEEDED', 'FAILED'],
    to: 'SCHEDULED',
    effect: 'a new execution at attempt 1 (a full retry budget), due now; the dead letter is marked requeued',
  },
  {
    command: 'requeue',
    kinds: 'recurring',
    from: ['SCHEDULED', 'RUNNING'],
    to: 'unchanged',
    effect: 'the dead-lettered occurrence runs again at attempt 1, due now',
  },
  {
    command: 'delete',
    kinds: 'once',
    from: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
    to: 'deleted',
    effect:
      'the job, its executions, occurrences and dead letters are deleted (refused while an execution is open)',
  },
  {
    command: 'delete',
    kinds: 'recurring',
    from: ['CANCELLED'],
    to: 'deleted',
    effect: 'the definition and its whole history are deleted (refused while an execution is open)',
  },
];

export const REFUSALS: readonly Refusal[] = [
  {
    command: 'cancel',
    kinds: 'any',
    from: ['SUCCEEDED', 'FAILED'],
    code: 'JOB_FINISHED',
    reason: 'already ended; nothing to cancel',
  },
  {
    command: 'pause',
    kinds: 'once',
    from: 'any',
    code: 'JOB_STATE',
    reason: 'only recurring jobs can be paused; cancel it instead',
  },
  {
    command: 'pause',
    kinds: 'recurring',
    from: ['CANCELLED'],
    code: 'JOB_STATE',
    reason: 'the job is cancelled',
  },
  {
    command: 'resume',
    kinds: 'once',
    from: 'any',
    code: 'JOB_STATE',
    reason: 'only recurring jobs can be paused and resumed',
  },
  {
    command: 'resume',
    kinds: 'recurring',
    from: ['SCHEDULED', 'RUNNING', 'CANCELLED'],
    code: 'JOB_STATE',
    reason: 'the job is not PAUSED',
  },
  {
    command: 'reschedule',
    kinds: 'once',
    from: 'any',
    code: 'JOB_STATE',
    reason: 'only recurring jobs have a schedule to change',
  },
  {
    command: 'reschedule',
    kinds: 'recurring',
    from: ['CANCELLED'],
    code: 'JOB_STATE',
    reason: 'the job is cancelled',
  },
  {
    command: 'trigger',
    kinds: 'once',
    from: ['WAITING'],
    code: 'JOB_NOT_TRIGGERABLE',
    reason: 'it waits for its parents (dependsOn); it runs once they have all succeeded',
  },
  {
    command: ['pause', 'resume', 'reschedule', 'trigger', 'requeue', 'delete'],
    kinds: 'recurring',
    from: ['WAITING'],
    code: 'JOB_STATE',
    reason: 'a recurring job never waits for parents (dependsOn is for one-shot jobs); not reachable',
  },
  {
    command: 'trigger',
    kinds: 'once',
    from: ['RUNNING', 'PAUSED', 'CANCELLED'],
    code: 'JOB_NOT_TRIGGERABLE',
    reason: 'only a waiting or finished job can be triggered',
  },
  {
    command: 'trigger',
    kinds: 'recurring',
    from: ['CANCELLED'],
    code: 'JOB_NOT_TRIGGERABLE',
    reason: 'only a waiting or finished job can be triggered',
  },
  {
    command: ['pause', 'resume', 'reschedule', 'trigger', 'delete'],
    kinds: 'recurring',
    from: ['SUCCEEDED', 'FAILED'],
    code: 'JOB_STATE',
    reason:
      'a recurring job never ends SUCCEEDED or FAILED (an exhausted occurrence is a dead letter); not reachable',
  },
  {
    command: 'delete',
    kinds: 'once',
    from: ['WAITING'],
    code: 'JOB_STATE',
    reason: 'only a finished job can be deleted; cancel it first',
  },
  {
    command: 'delete',
    kinds: 'any',
    from: ['SCHEDULED', 'RUNNING', 'PAUSED'],
    code: 'JOB_STATE',
    reason: 'only a finished job can be deleted; cancel it first',
  },
  {
    command: 'requeue',
    kinds: 'any',
    from: ['CANCELLED'],
    code: 'JOB_CANCELLED',
    reason: 'the job is cancelled',
  },
  {
    command: 'requeue',
    kinds: 'once',
    from: ['WAITING', 'SCHEDULED', 'RUNNING', 'PAUSED'],
    code: 'JOB_STATE',
    reason:
      'the job already has a pending or running execution (it was triggered); requeueing would run it twice',
  },
  {
    command: 'requeue',
    kinds: 'recurring',
    from: ['PAUSED'],
    code: 'JOB_STATE',
    reason: 'the job is paused; resume it first',
  },
];

const applies = (kinds: CommandRule['kinds'], kind: JobKind) =>
  kinds === 'any' || (kinds === 'once' ? kind === 'once' : kind !== 'once');

/** Whether a refusal row is about `command`. */
export const refuses = (r: Refusal, command: JobCommand) =>
  typeof r.command === 'string' ? r.command === command : r.command.includes(command);

export type Decision = { allowed: true; rule: CommandRule } | { allowed: false; refusal: Refusal };

/**
 * Whether `command` may change a job in `status`, and to what. Every (command, kind, status) has exactly one
 * answer: a rule or a refusal (transitions.test.ts checks the table is complete and without overlaps).
 */
export function decide(command: JobCommand, job: { status: JobStatus; kind: JobKind }): Decision {
  const rule = COMMAND_RULES.find(
    (r) => r.command === command && applies(r.kinds, job.kind) && r.from.includes(job.status),
  );
  if (rule) return { allowed: true, rule };
  const refusal = REFUSALS.find(
    (r) =>
      refuses(r, command) && applies(r.kinds, job.kind) && (r.from === 'any' || r.from.includes(job.status)),
  );
  if (!refusal)
    throw new Error(`lifecycle table has no answer for ${command} of a ${job.kind} ${job.status} job`);
  return { allowed: false, refusal };
}

/** The status a rule leaves the job in. */
export const statusAfter = (rule: CommandRule, current: JobStatus): JobStatus => {
  if (rule.to === 'deleted') throw new Error(`${rule.command} deletes the job; it has no status after`);
  return rule.to === 'unchanged' ? current : rule.to;
};

/** The error a refused command answers with, naming the job and its state. */
export const refusalError = (refusal: Refusal, what: string, status: JobStatus) =>
  new AppError(refusal.code, `${what} is ${status}: ${refusal.reason}`);

/**
 * What the work itself does to jobs and executions: claims, runner reports, lease expiry, retries and dead letters,
 * runners going away, the scheduler. Each is one set-based statement (named in `by`), run by the lifecycle.
 */
export interface OutcomeRule {
  event: string;
  execution: string;
  job: string;
  by: string;
}

export const OUTCOME_TRANSITIONS: readonly OutcomeRule[] = [
  {
    event: 'create (POST /jobs, a timer)',
    execution: '— → PENDING (one-shot: attempt 1)',
    job: '— → SCHEDULED',
    by: 'queue/insert-jobs.ts',
  },
  {
    event: 'create with parents not all SUCCEEDED (dependsOn, POST /flows)',
    execution: 'none until released',
    job: '— → WAITING (— → CANCELLED when a parent already failed and onParentFailure is cancel)',
    by: 'queue/lock-parents.ts + queue/insert-jobs.ts',
  },
  {
    event:
      "last parent SUCCEEDED (or FAILED / CANCELLED with onParentFailure run), in that parent's transaction",
    execution: '— → PENDING (attempt 1, due at the later of now and runAt)',
    job: 'WAITING → SCHEDULED (event job.released)',
    by: 'queue/settle-dependents.ts',
  },
  {
    event: 'a parent FAILED (dead-lettered) or CANCELLED, onParentFailure cancel',
    execution: 'none',
    job: 'WAITING → CANCELLED, and so on down its own waiting dependents',
    by: 'queue/settle-dependents.ts',
  },
  {
    event: 'occurrence due (scheduler)',
    execution: '— → PENDING (attempt 1 of the occurrence)',
    job: 'unchanged',
    by: 'queue/materialize-occurrences.ts',
  },
  {
    event: 'claim',
    execution: 'PENDING → RUNNING (lease starts)',
    job: 'SCHEDULED → RUNNING',
    by: 'queue/claim-executions.ts',
  },
  {
    event: 'report SUCCEEDED',
    execution: 'RUNNING → SUCCEEDED',
    job: 'one-shot: RUNNING → SUCCEEDED; recurring: → SCHEDULED (RUNNING while another runs)',
    by: 'queue/complete-executions.ts',
  },
  {
    event: 'report FAILED / CANCELLED, attempts left',
    execution: 'RUNNING → FAILED or CANCELLED; new PENDING execution, attempt + 1, after backoff',
    job: 'RUNNING → SCHEDULED',
    by: 'queue/complete-executions.ts + queue/retry-or-dead-letter.ts',
  },
  {
    event: 'report FAILED, no attempts left (or permanent)',
    execution: 'RUNNING → FAILED; dead letter written',
    job: 'one-shot: RUNNING → FAILED; recurring: → SCHEDULED',
    by: 'queue/complete-executions.ts + queue/retry-or-dead-letter.ts',
  },
  {
    event: 'failure of a cancelled or paused job',
    execution: 'RUNNING → FAILED / TIMED_OUT / CANCELLED; no retry, no dead letter',
    job: 'unchanged (CANCELLED or PAUSED)',
    by: 'queue/retry-or-dead-letter.ts',
  },
  {
    event: 'lease expired (reaper)',
    execution: 'RUNNING → TIMED_OUT, then as a failure',
    job: 'as a failure',
    by: 'queue/reap-expired-leases.ts + queue/retry-or-dead-letter.ts',
  },
  {
    event: 'given back (claim answer lost, unlisted in heartbeats, runner deregistered before starting it)',
    execution: 'RUNNING → PENDING, same attempt; CANCELLED if its job was cancelled',
    job: 'unchanged',
    by: 'queue/release-executions.ts (GIVE_BACK)',
  },
  {
    event: 'runner deregistered while running it',
    execution: 'RUNNING → FAILED, then as a failure',
    job: 'as a failure',
    by: 'queue/deregister-runner.ts + queue/retry-or-dead-letter.ts',
  },
];

/** The tables above as Markdown, as docs/lifecycle.md prints them. */
export function renderTransitionTables(): string {
  const status = (s: CommandRule['to']) => (s === 'unchanged' || s === 'deleted' ? s : `\`${s}\``);
  const kinds = (k: CommandRule['kinds']) => (k === 'any' ? 'any' : k === 'once' ? 'one-shot' : 'recurring');
  const lines = [
    '| command | jobs | from | to | effect |',
    '|---|---|---|---|---|',
    ...COMMAND_RULES.map(
      (r) =>
        `| ${r.command} | ${kinds(r.kinds)} | ${r.from.map(status).join(', ')} | ${status(r.to)} | ${r.effect} |`,
    ),
    '',
    '| command | jobs | refused from | code | why |',
    '|---|---|---|---|---|',
    ...REFUSALS.map(
      (r) =>
        `| ${typeof r.command === 'string' ? r.command : r.command.join(', ')} | ${kinds(r.kinds)} | ${r.from === 'any' ? 'any' : r.from.map(status).join(', ')} | \`${r.code}\` | ${r.reason} |`,
    ),
    '',
    '| event | execution | job | statement |',
    '|---|---|---|---|',
    ...OUTCOME_TRANSITIONS.map((r) => `| ${r.event} | ${r.execution} | ${r.job} | \`${r.by}\` |`),
  ];
  return lines.join('\n');
}
