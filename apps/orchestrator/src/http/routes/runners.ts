import {
  DeregisterBody,
  DrainRunnerReply,
  HeartbeatBody,
  HeartbeatReply,
  JobTypeList,
  NextJobQuery,
  NextJobReply,
  RegisterRunnerBody,
  RegisterRunnerReply,
  RunnerIdParams,
  RunnerList,
} from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { onUndelivered } from '../delivery.js';
import { doc } from '../docs.js';
import { toRunner } from '../serializers.js';

export const runnerRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/runners/register',
      {
        config: { auth: 'runner' },
        schema: {
          ...doc('Runners', 'Register a runner', { 201: RegisterRunnerReply }),
          body: RegisterRunnerBody,
        },
      },
      async (req, reply) => {
        const p = req.principal;
        const runner = await s.runners.register(req.body, p?.keyId ?? null, !p || p.scopes.includes('admin'));
        return reply.status(201).send(runner);
      },
    );

    // The body is optional; a request without one reaches validation as null, hence nullish() (optional() was a 400).
    app.post(
      '/runners/:id/heartbeat',
      {
        config: { auth: 'runner', runnerIdIn: 'params' },
        schema: {
          ...doc(
            'Runners',
            'Heartbeat: renews every lease, stores progress; answers what to cancel and whether to drain',
            {
              200: HeartbeatReply,
            },
          ),
          params: RunnerIdParams,
          body: HeartbeatBody.nullish(),
        },
      },
      async (req) => s.runners.heartbeat(req.params.id, req.body?.running ?? [], req.body?.progress),
    );

    app.post(
      '/runners/:id/next-job',
      {
        config: { auth: 'runner', runnerIdIn: 'params' },
        schema: {
          ...doc('Runners', 'Long-poll claim of up to max due executions', {
            200: NextJobReply,
            204: z.null().describe('Nothing became due before the wait ended'),
          }),
          params: RunnerIdParams,
          querystring: NextJobQuery,
        },
      },
      async (req, reply) => {
        // Stop waiting (and claiming) as soon as the runner hangs up.
        // (The response's 'close' fires when the connection goes away before we answer; the request's own
        // 'close' fires as soon as its body is read.)
        const gone = new AbortController();
        reply.raw.once('close', () => gone.abort());
        const rows = await s.runners.nextJobs(req.params.id, req.query.max, req.query.wait, gone.signal);
        if (rows.length === 0) return reply.status(204).send(null);
        // Claimed and committed: if the answer does not go out whole (the runner hung up while it was written, or
        // it failed to serialise), nobody runs these; give them back now rather than when their leases expire
        // (issue 10, defect 10). An answer written whole but lost later is given back by the heartbeat that does
        // not list it (heartbeat-runner.ts).
        onUndelivered(reply, () => {
          const ids = rows.map((r) => r.id);
          s.runners.giveBack(req.params.id, ids).then(
            () => req.log.warn({ executions: ids }, 'claim answer not delivered: executions given back'),
            (err: unknown) =>
              req.log.error({ err, executions: ids }, 'giving back an undelivered claim failed'),
          );
        });
        return {
          executions: rows.map((r) => ({
            id: r.id,
            jobId: r.job_id,
            type: r.job_type,
            payload: r.payload,
            attempt: r.attempt,
            maxAttempts: r.max_attempts,
            scheduledFor: r.scheduled_for.toISOString(),
            leaseExpiresAt: r.lease_expires_at.toISOString(),
            timeoutMs: r.timeout_ms,
            occurrenceId: r.occurrence_id,
            ...(r.parents ? { parents: r.parents } : {}),
          })),
        };
      },
    );

    app.post(
      '/runners/:id/drain',
      {
        config: { auth: 'admin' },
        schema: {
          ...doc('Runners', 'Ask a runner to drain (admin)', {
            202: DrainRunnerReply,
          }),
          params: RunnerIdParams,
        },
      },
      async (req, reply) => {
        await s.runners.drain(req.params.id);
        return reply.status(202).send({ id: req.params.id, status: 'DRAINING' });
      },
    );

    app.delete(
      '/runners/:id',
      {
        config: { auth: 'runner', runnerIdIn: 'params' },
        schema: {
          ...doc('Runners', 'Deregister (graceful shutdown)', {
            200: z.object({ abandoned: z.array(z.number().int()), released: z.array(z.number().int()) }),
          }),
          params: RunnerIdParams,
          body: DeregisterBody.nullish(),
        },
      },
      async (req) => s.runners.deregister(req.params.id, req.body?.started),
    );

    app.get(
      '/job-types',
      {
        config: { auth: 'client' },
        schema: {
          ...doc(
            'Runners',
            'Every job type seen: its payload schema, the ONLINE runners that serve it, its due backlog',
            {
              200: JobTypeList,
            },
          ),
          querystring: z.strictObject({}),
        },
      },
      async () => ({ items: await s.jobTypes.list() }),
    );

    app.get(
      '/runners',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Runners', 'Runners with status and load', { 200: RunnerList }),
          querystring: z.strictObject({
            includeOffline: z
              .enum(['true', 'false'])
              .default('false')
              .transform((v) => v === 'true'),
          }),
        },
      },
      async (req) => ({ items: (await s.runners.list(req.query.includeOffline)).map(toRunner) }),
    );
  };
