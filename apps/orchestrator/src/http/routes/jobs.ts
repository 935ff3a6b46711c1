import {
  CreateJobBody,
  CreateJobsBatchBody,
  Execution,
  ExecutionList,
  ExecutionListQuery,
  GetJobQuery,
  IdempotencyKeyHeader,
  IdParams,
  Job,
  JobList,
  JobsBatchReply,
  ListJobsQuery,
  PatchJobBody,
  PurgeJobsBody,
  PurgeJobsReply,
} from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import type { CreatedJob, CreateWarning } from '../../services/jobs-service.js';
import { doc } from '../docs.js';
import { page, toExecution, toJob } from '../serializers.js';

export const jobRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/jobs',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'Create a job (one-shot, delayed, cron or interval)', { 201: Job, 200: Job }),
          body: CreateJobBody,
          headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeader.optional() }),
        },
      },
      async (req, reply) => {
        const [result] = (await s.jobs.create([req.body], {
          headerKey: req.headers['idempotency-key'],
        })) as [CreatedJob];
        // An existing job with the same unique key (issue 14) is not a replay of this request: its own header.
        if (result.uniqueExisting) void reply.header('unique-existing', 'true');
        else if (!result.created) void reply.header('idempotent-replayed', 'true');
        return reply.status(result.created ? 201 : 200).send(answer(result));
      },
    );

    app.post(
      '/jobs/batch',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'Create up to 1,000 jobs in one statement', { 201: JobsBatchReply }),
          body: CreateJobsBatchBody,
        },
      },
      async (req, reply) => {
        const results = await s.jobs.create(req.body.jobs, {
          fieldName: (field, i) => `jobs.${i}${field ? `.${field}` : ''}`,
        });
        return reply.status(201).send({ jobs: results.map(answer) });
      },
    );

    app.get(
      '/jobs',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'List jobs, newest first (filters: status, type, kind)', { 200: JobList }),
          querystring: ListJobsQuery,
        },
      },
      async (req) => {
        const { rows, truncated } = await s.jobs.list(req.query);
        return page(
          rows.map((j) => toJob(j)),
          req.query.limit,
          truncated,
        );
      },
    );

    app.get(
      '/jobs/:id',
      {
        config: { auth: 'client' },
        schema: {
          ...doc(
            'Jobs',
            'One job with its schedule, last occurrence and last execution (with its result); `?wait=30` answers as soon as the job is final',
            { 200: Job },
          ),
          params: IdParams,
          querystring: GetJobQuery,
        },
      },
      async (req, reply) => {
        if (req.query.wait <= 0) {
          const { job, lastExecution, lastOccurrence, dependsOn } = await s.jobs.get(req.params.id);
          return toJob(job, lastExecution, lastOccurrence, dependsOn);
        }
        // Stop waiting as soon as the caller hangs up (see the long-poll claim in runners.ts).
        const gone = new AbortController();
        reply.raw.once('close', () => gone.abort());
        const { job, lastExecution, lastOccurrence, dependsOn } = await s.jobs.getWhenFinal(
          req.params.id,
          req.query.wait * 1000,
          gone.signal,
        );
        return toJob(job, lastExecution, lastOccurrence, dependsOn);
      },
    );

    app.get(
      '/jobs/:id/executions',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'The execution history of a job, newest first', { 200: ExecutionList }),
          params: IdParams,
          querystring: ExecutionListQuery,
        },
      },
      async (req) => {
        const { rows, truncated } = await s.jobs.executions(req.params.id, req.query);
        return page(rows.map(toExecution), req.query.limit, truncated);
      },
    );

    app.post(
      '/jobs/:id/trigger',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'Run now (an extra occurrence of a recurring job)', { 202: Execution }),
          params: IdParams,
        },
      },
      async (req, reply) => {
        return reply.status(202).send(toExecution(await s.jobs.trigger(req.params.id)));
      },
    );

    app.post(
      '/jobs/:id/cancel',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'Cancel: no more runs; a running one is aborted through its runner', { 200: Job }),
          params: IdParams,
        },
      },
      async (req) => {
        return toJob(await s.jobs.cancel(req.params.id));
      },
    );

    app.delete(
      '/jobs/:id',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Jobs', 'Delete a finished job (or a cancelled recurring one) with its whole history', {
            204: z.null().describe('Deleted'),
          }),
          params: IdParams,
        },
      },
      async (req, reply) => {
        await s.jobs.delete(req.params.id);
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/jobs/purge',
      {
        config: { auth: 'admin' },
        schema: {
          ...doc('Jobs', 'Delete finished jobs by filter, oldest first, with their history (admin)', {
            200: PurgeJobsReply,
          }),
          body: PurgeJobsBody,
        },
      },
      async (req) =>
        s.jobs.purge({
          finishedBefore: new Date(req.body.finishedBefore),
          status: req.body.status,
          type: req.body.type,
        }),
    );

    /** A recurring job stops making occurrences (pending ones are cancelled; a running one finishes). */
    app.post(
      '/jobs/:id/pause',
      {
        config: { auth: 'client' },
        schema: { ...doc('Schedules', 'Pause a recurring job', { 200: Job }), params: IdParams },
      },
      async (req) => {
        return toJob(await s.jobs.pause(req.params.id));
      },
    );

    /** Back on schedule from the next occurrence after now: what fell during the pause is not run. */
    app.post(
      '/jobs/:id/resume',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Schedules', 'Resume a paused job from its next occurrence (no catch-up storm)', {
            200: Job,
          }),
          params: IdParams,
        },
      },
      async (req) => {
        return toJob(await s.jobs.resume(req.params.id));
      },
    );

    /** Change a recurring job's expression, interval, time zone or policies; nextRunAt is recomputed. */
    app.patch(
      '/jobs/:id',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Schedules', 'Change the schedule or policies of a recurring job', { 200: Job }),
          params: IdParams,
          body: PatchJobBody,
        },
      },
      async (req) => {
        return toJob(await s.jobs.reschedule(req.params.id, req.body));
      },
    );
  };

/** A created job's answer carries its warnings (e.g. TYPE_UNDECLARED) when there are any. */
function withWarnings<J extends object>(
  job: J,
  warnings: CreateWarning[],
): J & { warnings?: CreateWarning[] } {
  return warnings.length > 0 ? { ...job, warnings } : job;
}

/** The answer about one job of a create: with its warnings, and `uniqueExisting` when its unique key held. */
function answer(r: CreatedJob) {
  const job = withWarnings(toJob(r.job, undefined, undefined, r.dependsOn), r.warnings);
  return r.uniqueExisting ? { ...job, uniqueExisting: true } : job;
}
