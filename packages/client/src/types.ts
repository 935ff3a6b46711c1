/**
 * What the client sends and receives, derived from the zod schemas of @hourglass/contracts: the same schemas the
 * orchestrator validates with, so a field added or renamed there changes these types too. Type-only imports: the
 * client carries no zod at run time.
 *
 * Requests are the schemas' input types (defaults may be left out); answers are their output types.
 */
import type * as C from '@hourglass/contracts';
import type { z } from 'zod';

export type JobStatus = C.JobStatus;
export type JobKind = C.JobKind;
export type ExecutionStatus = C.ExecutionStatus;
export type RunnerStatus = C.RunnerStatus;
export type ApiKeyScope = z.output<typeof C.ApiKeyScope>;

/** Body of `POST /jobs`: `type`, and optionally `payload`, timing (`runAt`, `delayMs`, cron, interval), retries. */
export type CreateJobInput = z.input<typeof C.CreateJobBody>;
/** A job of `POST /flows`: a one-shot job's fields, its `ref`, and `dependsOn` (refs of the request, ids of jobs). */
export type FlowJobInput = z.input<typeof C.FlowJobBody>;
export type Flow = z.output<typeof C.Flow>;
export type FlowJob = z.output<typeof C.FlowJob>;
export type ParentResult = z.output<typeof C.ParentResult>;
/** Body of `PATCH /jobs/{id}`: a recurring job's new expression, interval, time zone or policies. */
export type UpdateJobInput = z.input<typeof C.PatchJobBody>;
/** Body of `POST /timers`: `url` and `hours`/`minutes`/`seconds` (missing parts are 0). */
export type CreateTimerInput = z.input<typeof C.CreateTimerBody>;
/** Body of `POST /api-keys`. */
export type CreateApiKeyInput = z.input<typeof C.CreateApiKeyBody>;

export type Job = z.output<typeof C.Job>;
export type Execution = z.output<typeof C.Execution>;
export type ActiveExecution = z.output<typeof C.ActiveExecution>;
export type DeadLetter = z.output<typeof C.DeadLetter>;
export type CreatedTimer = z.output<typeof C.CreatedTimer>;
export type Timer = z.output<typeof C.Timer>;
export type Runner = z.output<typeof C.Runner>;
export type DrainedRunner = z.output<typeof C.DrainRunnerReply>;
export type JobType = z.output<typeof C.JobType>;
export type ApiKey = z.output<typeof C.ApiKey>;
/** A queue with its limits and live counts (`GET /queues/{name}`). */
export type Queue = z.output<typeof C.Queue>;
/** The limits `PUT /queues/{name}` sets (left out or null: none). */
export type QueueSettingsInput = z.input<typeof C.QueueSettingsBody>;
/** `GET /auth/me`: the presented key's name and scopes. */
export type Me = z.output<typeof C.Me>;
/** `GET /stats`: jobs by status and the last hour's finished executions per minute. */
export type Stats = z.output<typeof C.Stats>;
/** A new key with its secret (`key`), shown in this answer only. */
export type CreatedApiKey = z.output<typeof C.CreatedApiKey>;
/** The body of every error answer (RFC 9457 problem details). */
export type Problem = z.output<typeof C.Problem>;
export type FieldError = NonNullable<Problem['errors']>[number];

/** One page of a list: `nextCursor` is passed back as `cursor` for the next (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: number | null;
}

/** Filters of `GET /jobs`; `q` is a job id or an idempotency key, matched exactly. */
export type JobFilter = Partial<Pick<z.output<typeof C.ListJobsQuery>, 'status' | 'kind' | 'type' | 'q'>>;

/** Filters of `GET /dead-letters`. */
export interface DeadLetterFilter {
  /** Requeued entries are hidden unless asked for. */
  includeRequeued?: boolean;
}

/** The job statuses after which nothing more happens (`GET /jobs/{id}?wait=` answers as soon as one is reached). */
export type FinalJobStatus = (typeof C.FINAL_JOB_STATUSES)[number];

/** One event of `GET /events` (see the README, "Events and callbacks"). */
export type HourglassEvent = z.output<typeof C.HourglassEvent>;
export type EventKind = C.EventKind;

/** Filters of `GET /events` (all optional; they combine with AND). */
export interface EventFilter {
  jobId?: number;
  /** Job type. */
  type?: string;
  /** Kinds, or prefixes ending in `.*` (`execution.*`). */
  kinds?: (EventKind | `${string}.*`)[];
  /** Start after this event id (0: from the oldest kept). Default: new events only, from now. */
  after?: number;
}
