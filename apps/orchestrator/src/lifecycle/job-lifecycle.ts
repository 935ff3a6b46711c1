import type { PatchJobBody } from '@hourglass/contracts';
import type { Db } from '../db/database.js';
import { hotTransaction } from '../db/prepared.js';
import { AppError, notFound } from '../errors.js';
import { cancelJobWork } from '../queue/cancel-job.js';
import { type Claim, type ClaimedRow, claimExecutions } from '../queue/claim-executions.js';
import {
  deleteExpiredEvents,
  deleteExpiredJobs,
  deleteExpiredOccurrences,
  deleteExpiredRecurringExecutions,
  deleteJobRow,
  deleteOfflineRunners,
  type PurgeFilter,
  purgeJobs,
  type Retention,
} from '../queue/clean-history.js';
import {
  type CompletionInput,
  completeExecutions,
  type PriorOutcomeRow,
  type RecordedRow,
  readPriorOutcomes,
} from '../queue/complete-executions.js';
import { deregisterRunner } from '../queue/deregister-runner.js';
import { heartbeatRunner } from '../queue/heartbeat-runner.js';
import { insertJobs, type NewEdge, type NewJob } from '../queue/insert-jobs.js';
import { lockJob, setJobStatus } from '../queue/lock-job.js';
import { allocateFlowId, allocateJobIds, countDependents, lockParents } from '../queue/lock-parents.js';
import {
  jobsWithRunnableQueue,
  lockDueRecurringJobs,
  recordOccurrences,
  startQueuedOccurrence,
} from '../queue/materialize-occurrences.js';
import { pauseJobWork, setNextRun, updateSchedule } from '../queue/pause-resume-job.js';
import { reapExpiredLeases } from '../queue/reap-expired-leases.js';
import { enqueueCallbacks, recordEvents } from '../queue/record-events.js';
import { releaseExecutions } from '../queue/release-executions.js';
import { lockDeadLetter, markRequeued } from '../queue/requeue-dead-letter.js';
import { type RetryRow, retryOrDeadLetter } from '../queue/retry-or-dead-letter.js';
import type { ExecutionRow, FinishedExecutionRow, JobRow } from '../queue/rows.js';
import { settleDependents } from '../queue/settle-dependents.js';
import { insertExtraOccurrence, insertFreshExecution, movePendingToNow } from '../queue/trigger-job.js';
import { planOccurrences } from '../schedules/plan-occurrences.js';
import { planReschedule } from '../schedules/reschedule-plan.js';
import { nextOccurrence } from '../schedules/schedule.js';
import { scheduleOf } from '../schedules/schedule-of.js';
import { type CommandRule, decide, type JobCommand, refusalError, statusAfter } from './transitions.js';

/** What retention deletes, one statement each (queue/clean-history.ts). */
const CLEANERS = {
  jobs: deleteExpiredJobs,
  executions: deleteExpiredRecurringExecutions,
  occurrences: deleteExpiredOccurrences,
  runners: deleteOfflineRunners,
  events: deleteExpiredEvents,
};
export type CleanTarget = keyof typeof CLEANERS;
export const CLEAN_TARGETS = Object.keys(CLEANERS) as CleanTarget[];

/** The event each command writes when it is carried out (issue 13). */
const COMMAND_EVENTS = {
  cancel: 'job.cancelled',
  pause: 'job.paused',
  resume: 'job.resumed',
  reschedule: 'job.rescheduled',
  trigger: 'job.triggered',
  requeue: 'job.requeued',
  delete: 'job.deleted',
} as const satisfies Record<JobCommand, string>;

/** One job of a create with dependencies (flows, issue 14). */
export interface GraphNode {
  job: NewJob;
  /** Positions in the create (each before this node's own) of the new jobs it waits for. */
  refs: number[];
  /** Ids of existing jobs it waits for. */
  ids: number[];
  onParentFailure: 'cancel' | 'run';
  /** Its name in a flow request. */
  ref: string | null;
}

/** What the end of parents did to their dependents (see settle-dependents.ts), for the caller to announce. */
export interface Settlement {
  /** Executions created (released dependents, completion callbacks), as retries are announced. */
  ready: RetryRow[];
  /** Waiting jobs cancelled because a parent failed or was cancelled. */
  cancelled: number[];
}

const NOTHING_SETTLED: Settlement = { ready: [], cancelled: [] };

/**
 * Most dependents an existing job may have (edges from jobs created later with `dependsOn` its id). A parent's end
 * settles all of them in the statement that records it (a runner's report, a cancel), so their number bounds that
 * statement's work and the outbox row of its events.
 */
export const MAX_DEPENDENTS_PER_PARENT = 10_000;

/**
 * The one owner of job and execution state (issue 10). Every write of `jobs.status` and `executions.status` goes
 * through a method here: commands (cancel, pause, resume, reschedule, trigger, requeue) are decided against the
 * table in transitions.ts after the job is locked, then carried out by statements from queue/; the outcomes of
 * work (claims, reports, lease expiry, runners going away) run their set-based statements in the transactions
 * defined here, with the retry or dead letter that follows a failure in the same transaction.
 *
 * `at` is the time the lifecycle acts at: null (production) means the database's now(); a test passes a clock to
 * move time (lease expiry, backoff) without waiting.
 *
 * Every change writes its events (issue 13) in its own transaction: the set-based statements in a CTE of the same
 * statement (see queue/record-events.ts), commands here. `eventsWritten` is called after a transaction that wrote
 * some commits (the replica's event sequencer then numbers them at once, instead of on its safety-net tick).
 */
export class JobLifecycle {
  constructor(
    private readonly db: Db,
    private readonly at: () => Date | null = () => null,
    private readonly eventsWritten: () => void = () => {},
  ) {}

  /** New jobs (and first executions of one-shot jobs), in one statement. */
  async create(jobs: NewJob[]): Promise<JobRow[]> {
    const rows = await insertJobs(this.db, jobs, this.at());
    return this.written(rows, rows);
  }

  /**
   * New jobs of which some wait for others (dependsOn, POST /flows), in one transaction: existing parents are locked
   * (lockParents: a parent ending meanwhile is settled either way), each job's status and count of waiting parents
   * follow from its parents' statuses, and the jobs and their edges are inserted in one statement. A job whose parents
   * have all SUCCEEDED is SCHEDULED at once; one with a parent already FAILED or CANCELLED is CANCELLED or released per
   * its onParentFailure; else WAITING, without an execution. `field(i)` names node i's dependsOn in errors.
   * Answers the rows (in id order, as create does) and the flow's id when `flow` is set.
   */
  async createGraph(
    nodes: GraphNode[],
    opts: { flow: boolean; field: (i: number) => string },
  ): Promise<{ rows: JobRow[]; flowId: number | null; callbacks: Date[] }> {
    const at = this.at();
    const result = await this.db.transaction().execute(async (trx) => {
      const wanted = [...new Set(nodes.flatMap((n) => n.ids))].sort((a, b) => a - b);
      const parents = new Map((await lockParents(trx, wanted)).map((p) => [p.id, p]));
      // A parent's end settles all its dependents in one statement (settle-dependents.ts): their number is bounded.
      const dependents = await countDependents(trx, wanted);
      for (const n of nodes) for (const id of n.ids) dependents.set(id, (dependents.get(id) ?? 0) + 1);
      nodes.forEach((n, i) => {
        const unknown = n.ids.filter((id) => !parents.has(id));
        if (unknown.length > 0) {
          throw new AppError('VALIDATION_FAILED', `${opts.field(i)}: no job ${unknown.join(', ')}`, [
            { field: opts.field(i), message: `no job ${unknown.join(', ')}` },
          ]);
        }
        const crowded = n.ids.filter((id) => (dependents.get(id) ?? 0) > MAX_DEPENDENTS_PER_PARENT);
        if (crowded.length > 0) {
          const message = `job ${crowded.join(', ')} would have more than ${MAX_DEPENDENTS_PER_PARENT} dependents`;
          throw new AppError('VALIDATION_FAILED', `${opts.field(i)}: ${message}`, [
            { field: opts.field(i), message },
          ]);
        }
        const recurring = n.ids.filter((id) => parents.get(id)!.kind !== 'once');
        if (recurring.length > 0) {
          const message = `job ${recurring.join(', ')} is recurring; only one-shot jobs can be parents`;
          throw new AppError('VALIDATION_FAILED', `${opts.field(i)}: ${message}`, [
            { field: opts.field(i), message },
          ]);
        }
      });
      const ids = await allocateJobIds(trx, nodes.length);
      const flowId = opts.flow ? await allocateFlowId(trx) : null;
      const hasDependents = new Set(nodes.flatMap((n) => n.refs));
      const statuses: ('WAITING' | 'SCHEDULED' | 'CANCELLED')[] = [];
      const edges: NewEdge[] = [];
      const jobs = nodes.map((n, i): NewJob => {
        let waiting = 0;
        let failedParent = false;
        const edge = (parentId: number, outcome: 'open' | 'succeeded' | 'failed') => {
          if (outcome === 'open') waiting++;
          if (outcome === 'failed') failedParent = true;
          edges.push({ job_id: ids[i]!, parent_id: parentId, settled: outcome !== 'open' });
        };
        for (const r of n.refs) edge(ids[r]!, statuses[r] === 'CANCELLED' ? 'failed' : 'open');
        for (const id of n.ids) {
          const status = parents.get(id)!.status;
          edge(
            id,
            status === 'SUCCEEDED'
              ? 'succeeded'
              : status === 'FAILED' || status === 'CANCELLED'
                ? 'failed'
                : 'open',
          );
        }
        const status =
          failedParent && n.onParentFailure === 'cancel'
            ? 'CANCELLED'
            : waiting > 0
              ? 'WAITING'
              : 'SCHEDULED';
        statuses.push(status);
        const parentCount = n.refs.length + n.ids.length;
        return {
          ...n.job,
          graph: {
            id: ids[i]!,
            status,
            parent_count: parentCount,
            waiting_parents: status === 'WAITING' ? waiting : 0,
            on_parent_failure: parentCount > 0 ? n.onParentFailure : null,
            flow_id: flowId,
            flow_ref: n.ref,
            has_dependents: hasDependents.has(i),
          },
        };
      });
      const rows = await insertJobs(trx, jobs, at, edges);
      // A job created CANCELLED (its parent had already failed) announces that final state like any other.
      const callbacks = await enqueueCallbacks(
        trx,
        rows.filter((r) => r.status === 'CANCELLED').map((r) => r.id),
        at,
      );
      return { rows, flowId, callbacks };
    });
    return this.written(result, result.rows);
  }

  /**
   * Cancels a job; returns it, the executions whose runners are told to abort, and the due times of the completion
   * callback it created (when the job has a callback URL and was not cancelled already).
   */
  async cancel(
    jobId: number,
  ): Promise<{ job: JobRow; abortRequested: number[]; callbacks: Date[]; settled: Settlement }> {
    return this.command(jobId, 'cancel', async (trx, { job }, rule, at) => {
      const abortRequested = await cancelJobWork(trx, jobId, at);
      const cancelled = await setJobStatus(trx, jobId, statusAfter(rule, job.status), 'stamp', at);
      const callbacks = job.status === 'CANCELLED' ? [] : await enqueueCallbacks(trx, [jobId], at);
      // The job row is locked (lockJob), so has_dependents includes any dependent a create added before.
      const settled =
        cancelled.has_dependents && job.status !== 'CANCELLED'
          ? await this.settle(trx, [], [jobId], at)
          : NOTHING_SETTLED;
      return { job: cancelled, abortRequested, callbacks, settled };
    });
  }

  pause(jobId: number): Promise<JobRow> {
    return this.command(jobId, 'pause', async (trx, { job }, rule, at) => {
      await pauseJobWork(trx, jobId, at);
      return setJobStatus(trx, jobId, statusAfter(rule, job.status), 'keep', at);
    });
  }

  /** Resumes from the next occurrence after now: occurrences that fell during the pause are not run. */
  resume(jobId: number): Promise<JobRow> {
    return this.command(jobId, 'resume', async (trx, { job, now }, rule, at) => {
      await setNextRun(trx, jobId, nextOccurrence(scheduleOf(job), now));
      return setJobStatus(trx, jobId, statusAfter(rule, job.status), 'keep', at);
    });
  }

  /** New schedule or policies for a recurring job; the next occurrence is recomputed from now. */
  reschedule(jobId: number, patch: PatchJobBody): Promise<JobRow> {
    return this.command(jobId, 'reschedule', (trx, { job, now }, _rule, at) =>
      updateSchedule(trx, jobId, planReschedule(job, patch, now), at),
    );
  }

  /**
   * Runs a job now: a one-shot job's waiting attempt is moved to now (never a second execution); a finished one
   * gets a new occurrence at attempt 1; a recurring job gets an extra occurrence.
   */
  trigger(jobId: number): Promise<ExecutionRow> {
    return this.command(jobId, 'trigger', async (trx, { job }, rule, at) => {
      if (job.kind !== 'once') return insertExtraOccurrence(trx, job, at);
      const execution =
        (await movePendingToNow(trx, jobId, at)) ?? (await insertFreshExecution(trx, job, at));
      await setJobStatus(trx, jobId, statusAfter(rule, job.status), 'clear', at);
      return execution;
    });
  }

  /**
   * Gives a dead-lettered job a fresh run: a new execution at attempt 1, due now. The dead letter is kept, marked
   * requeued, as the record of what happened.
   */
  async requeue(deadLetterId: number): Promise<ExecutionRow> {
    const at = this.at();
    const result = await this.db.transaction().execute(async (trx) => {
      const dl = await lockDeadLetter(trx, deadLetterId);
      if (!dl) throw notFound('dead letter', deadLetterId);
      if (dl.requeued_at)
        throw new AppError('ALREADY_REQUEUED', `dead letter ${deadLetterId} was already requeued`);
      const locked = await lockJob(trx, dl.job_id, at);
      if (!locked) throw notFound('job', dl.job_id);
      const { job, open } = locked;
      const decision = decide('requeue', job);
      if (!decision.allowed)
        throw refusalError(decision.refusal, `the job of dead letter ${deadLetterId}`, job.status);
      // A one-shot job with an open execution would run twice (the table refuses its open states; this also covers
      // a row the status does not show yet). The database refuses it too (executions_one_open_per_once_job).
      if (job.kind === 'once' && open) {
        throw new AppError(
          'JOB_STATE',
          `the job of dead letter ${deadLetterId} already has a pending or running execution (it was triggered); requeueing would run it twice`,
        );
      }
      const execution = await insertFreshExecution(trx, job, at);
      await markRequeued(trx, deadLetterId, execution.id, at);
      if (decision.rule.to !== 'unchanged') {
        await setJobStatus(trx, job.id, statusAfter(decision.rule, job.status), 'clear', at);
      }
      await recordEvents(
        trx,
        [
          {
            kind: COMMAND_EVENTS.requeue,
            jobId: job.id,
            executionId: execution.id,
            jobType: job.type,
            data: { from: job.status, status: statusAfter(decision.rule, job.status), deadLetterId },
          },
        ],
        at,
      );
      return execution;
    });
    return this.written(result);
  }

  /**
   * Deletes a finished job and its whole history. Refused while an execution is still open (a cancelled job's
   * running execution ends once its runner aborts it).
   */
  delete(jobId: number): Promise<void> {
    return this.command(jobId, 'delete', async (trx, { job, open }) => {
      if (open) {
        throw new AppError(
          'JOB_STATE',
          `job ${jobId} is ${job.status} but an execution is still open; it can be deleted once that ends`,
        );
      }
      await deleteJobRow(trx, jobId);
    });
  }

  /**
   * An operator's bulk delete of finished jobs (see purgeJobs), in batches until none match or `budgetMs` is spent;
   * `more` says some may be left.
   */
  async purge(
    filter: PurgeFilter,
    batch = 1_000,
    budgetMs = 10_000,
  ): Promise<{ deleted: number; more: boolean }> {
    const until = Date.now() + budgetMs;
    let deleted = 0;
    for (;;) {
      const n = await purgeJobs(this.db, filter, batch);
      deleted += n;
      if (n < batch) return { deleted, more: false };
      if (Date.now() >= until) return { deleted, more: true };
    }
  }

  /**
   * One round of retention for one kind of row (the cleaner loop calls each in turn): at most `batch` rows, oldest
   * first. Returns how many it deleted.
   */
  cleanExpired(what: CleanTarget, retention: Retention, batch: number): Promise<number> {
    return CLEANERS[what](this.db, retention, batch, this.at());
  }

  /** Claims due executions for a runner (PENDING → RUNNING; their jobs SCHEDULED → RUNNING). */
  async claim(claim: Claim): Promise<ClaimedRow[]> {
    const rows = await claimExecutions(this.db, claim, this.at());
    return this.written(rows, rows);
  }

  /** Gives back executions claimed for a runner that never received them (RUNNING → PENDING, or CANCELLED). */
  release(runnerId: string, executionIds: number[]): Promise<void> {
    return releaseExecutions(this.db, runnerId, executionIds, this.at());
  }

  /**
   * Records runner reports (fenced: only executions RUNNING under this runner) and, for failures, the retry or
   * dead letter, in one transaction. `prior` holds the current state of executions whose report did not apply.
   */
  async complete(
    runnerId: string,
    outcomes: CompletionInput[],
  ): Promise<{
    recorded: RecordedRow[];
    prior: PriorOutcomeRow[];
    /** Retries scheduled, and executions of dependents released (flows): what claimers are told about. */
    retries: RetryRow[];
    cancelledDependents: number[];
  }> {
    const at = this.at();
    const result = await hotTransaction(this.db, async (trx) => {
      const recorded = await completeExecutions(trx, runnerId, outcomes, at);
      const failed = recorded.filter((r) => r.status !== 'SUCCEEDED').map((r) => r.id);
      const { retries, failedParents } = await retryOrDeadLetter(trx, failed, at);
      const settled = await this.settle(trx, recorded[0]?.succeeded_parents ?? [], failedParents, at);
      const recordedIds = new Set(recorded.map((r) => r.id));
      const prior = await readPriorOutcomes(
        trx,
        outcomes.map((o) => o.id).filter((id) => !recordedIds.has(id)),
      );
      return {
        recorded,
        prior,
        retries: [...retries, ...settled.ready],
        cancelledDependents: settled.cancelled,
      };
    });
    return this.written(result, result.recorded);
  }

  /** Expired leases (up to `batch`) become TIMED_OUT, then retried or dead-lettered, in one transaction. */
  async reapExpired(batch: number): Promise<{
    reaped: (FinishedExecutionRow & { job_id: number })[];
    retries: RetryRow[];
    cancelledDependents: number[];
  }> {
    const at = this.at();
    const result = await this.db.transaction().execute(async (trx) => {
      const reaped = await reapExpiredLeases(trx, batch, at);
      const { retries, failedParents } = await retryOrDeadLetter(
        trx,
        reaped.map((r) => r.id),
        at,
      );
      const settled = await this.settle(trx, [], failedParents, at);
      return { reaped, retries: [...retries, ...settled.ready], cancelledDependents: settled.cancelled };
    });
    return this.written(result, result.reaped);
  }

  /**
   * A runner leaving: what it started fails (then retries), what it never started goes back. Null when the
   * runner is unknown.
   */
  async deregister(runnerId: string, started: number[] | undefined) {
    const at = this.at();
    const result = await this.db.transaction().execute(async (trx) => {
      const settled = await deregisterRunner(trx, runnerId, started, at);
      if (!settled) return settled;
      const { retries, failedParents } = await retryOrDeadLetter(trx, settled.abandoned, at);
      const dependents = await this.settle(trx, [], failedParents, at);
      return {
        ...settled,
        retries: [...retries, ...dependents.ready],
        cancelledDependents: dependents.cancelled,
      };
    });
    return this.written(result);
  }

  /** Renews the leases a runner lists; gives back what it holds without listing (see heartbeat-runner.ts). */
  heartbeat(runnerId: string, running: number[], leaseMs: number, progress?: Record<string, unknown>) {
    return heartbeatRunner(this.db, runnerId, running, leaseMs, progress, this.at());
  }

  /**
   * The scheduler's tick: locks due recurring jobs (SKIP LOCKED, up to `limits.jobs`), plans each one's occurrences
   * (pure, bounded: see plan-occurrences.ts) and records them with their executions (— → PENDING), in one
   * transaction. Stops starting new plans past `limits.steps` occurrences; `more` says work was left for the next
   * tick. Returns the due times of the executions created, and what was not run (skipped or queued) per job.
   */
  async materializeDueOccurrences(limits: { jobs: number; steps: number; sliceMs: number }) {
    const at = this.at();
    const result = await this.db.transaction().execute(async (trx) => {
      const jobs = await lockDueRecurringJobs(trx, limits.jobs, at);
      const created: Date[] = [];
      const notRun: { jobId: number; skipped: number; reason: string | null }[] = [];
      let steps = 0;
      // A full batch may have more due jobs behind it.
      let more = jobs.length === limits.jobs;
      for (const job of jobs) {
        if (steps >= limits.steps) {
          // The rest of the batch is left for the next tick (its locks go with this transaction).
          more = true;
          break;
        }
        const plan = planOccurrences({
          schedule: scheduleOf(job),
          nextRunAt: job.next_run_at,
          now: job.now,
          catchUp: job.catch_up_policy,
          overlap: job.overlap_policy,
          busy: job.busy,
          previousSkip: job.skipped_until
            ? { reason: job.skipped_reason, lastScheduledFor: job.skipped_until }
            : null,
          sliceMs: limits.sliceMs,
        });
        steps += plan.steps;
        more ||= plan.more;
        const extendSkippedAt = plan.extendsPrevious ? job.skipped_from : null;
        created.push(
          ...(await recordOccurrences(trx, job, plan.occurrences, plan.nextRunAt, extendSkippedAt, at)),
        );
        const skipped = plan.occurrences.filter((o) => o.status !== 'CREATED');
        if (skipped.length > 0) {
          notRun.push({
            jobId: job.id,
            skipped: skipped.reduce((n, o) => n + o.count, 0),
            reason: skipped[0]!.reason,
          });
        }
      }
      return { created, more, notRun };
    });
    return this.written(result, result.created);
  }

  /**
   * Overlap `queue`: an occurrence that waited for its predecessor starts (— → PENDING) once that one is done. One
   * transaction per job. Returns how many started.
   */
  async startQueuedOccurrences(limit: number): Promise<number> {
    const at = this.at();
    let started = 0;
    for (const jobId of await jobsWithRunnableQueue(this.db, limit)) {
      if (await this.db.transaction().execute((trx) => startQueuedOccurrence(trx, jobId, at))) started++;
    }
    if (started > 0) this.eventsWritten();
    return started;
  }

  /**
   * Settles the dependents of jobs that just ended (flows), in the caller's transaction: succeeded parents release
   * them, failed or cancelled ones cancel them down the graph or release them (settle-dependents.ts). A job it
   * cancelled that has dependents is settled once more in a new statement, whose snapshot includes any dependent a
   * concurrent create committed while this transaction waited for that job's row (the recursive walk of the first
   * statement could not see it). Ends when a round cancels nothing with dependents.
   */
  private async settle(trx: Db, succeeded: number[], failed: number[], at: Date | null): Promise<Settlement> {
    if (succeeded.length === 0 && failed.length === 0) return NOTHING_SETTLED;
    const ready: RetryRow[] = [];
    const cancelled: number[] = [];
    let round = { succeeded, failed };
    while (round.succeeded.length > 0 || round.failed.length > 0) {
      const rows = await settleDependents(trx, round.succeeded, round.failed, at);
      for (const r of rows) {
        if (r.kind === 'cancelled') cancelled.push(r.job_id);
        else
          ready.push({
            job_id: r.job_id,
            execution_id: r.execution_id!,
            scheduled_for: r.scheduled_for!,
            ready: r.ready!,
          });
      }
      round = {
        succeeded: [],
        failed: rows.filter((r) => r.kind === 'cancelled' && r.has_dependents).map((r) => r.job_id),
      };
    }
    return { ready, cancelled };
  }

  /**
   * A command on one job: lock it (executions first, then the job), decide against the transition table, refuse
   * with the table's error or carry the change out, all in one transaction.
   */
  private async command<T>(
    jobId: number,
    command: JobCommand,
    change: (
      trx: Db,
      locked: { job: JobRow; open: boolean; now: Date },
      rule: CommandRule,
      at: Date | null,
    ) => Promise<T>,
  ): Promise<T> {
    const at = this.at();
    const result = await this.db.transaction().execute(async (trx) => {
      const locked = await lockJob(trx, jobId, at);
      if (!locked) throw notFound('job', jobId);
      const { job } = locked;
      const decision = decide(command, job);
      if (!decision.allowed) throw refusalError(decision.refusal, `job ${jobId}`, job.status);
      const changed = await change(trx, locked, decision.rule, at);
      const to = decision.rule.to === 'unchanged' ? job.status : decision.rule.to;
      // Cancelling a cancelled job changes nothing: no second event.
      if (!(command === 'cancel' && job.status === 'CANCELLED')) {
        const executionId = command === 'trigger' ? (changed as { id?: number }).id : undefined;
        await recordEvents(
          trx,
          [
            {
              kind: COMMAND_EVENTS[command],
              jobId,
              executionId: executionId ?? null,
              jobType: job.type,
              data: to === 'deleted' ? { from: job.status } : { from: job.status, status: to },
            },
          ],
          at,
        );
      }
      return changed;
    });
    return this.written(result);
  }

  /** Tells the event sequencer that a committed transaction wrote events (unless `rows` says nothing changed). */
  private written<T>(result: T, rows?: readonly unknown[]): T {
    if (!rows || rows.length > 0) this.eventsWritten();
    return result;
  }
}
