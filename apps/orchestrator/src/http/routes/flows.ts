import { CreateFlowBody, type Flow, Flow as FlowSchema, IdParams } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FlowRows } from '../../queue/read-flows.js';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';
import { toJob } from '../serializers.js';

/** Flows (issue 14): jobs that wait for jobs, created as one DAG and shown with each job's status. */
export const flowRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/flows',
      {
        config: { auth: 'client' },
        schema: {
          ...doc(
            'Flows',
            'Create a DAG of up to 1,000 jobs in one transaction; dependsOn names refs of the request or ids of existing jobs',
            { 201: FlowSchema },
          ),
          body: CreateFlowBody,
        },
      },
      async (req, reply) => {
        const { flow, warnings } = await s.jobs.createFlow(req.body);
        return reply.status(201).send({ ...toFlow(flow), ...(warnings.length > 0 ? { warnings } : {}) });
      },
    );

    app.get(
      '/flows/:id',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Flows', "A flow's jobs (parents first) with status and dependsOn, and its edges", {
            200: FlowSchema,
          }),
          params: IdParams,
        },
      },
      async (req) => toFlow(await s.jobs.getFlow(req.params.id)),
    );
  };

const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

function toFlow(f: FlowRows): Flow {
  const parents = new Map<number, number[]>();
  for (const e of f.edges) parents.set(e.job_id, [...(parents.get(e.job_id) ?? []), e.parent_id]);
  const counts: Flow['counts'] = {};
  for (const j of f.jobs) counts[j.status] = (counts[j.status] ?? 0) + 1;
  const finished = f.jobs.every((j) => FINAL.has(j.status));
  return {
    id: f.id,
    createdAt: f.jobs[0]!.created_at.toISOString(),
    status: !finished ? 'RUNNING' : f.jobs.every((j) => j.status === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED',
    counts,
    jobs: f.jobs.map((j) => {
      const { payload: _payload, lastExecution: _e, lastOccurrence: _o, ...job } = toJob(j);
      return { ...job, ref: j.flow_ref, dependsOn: parents.get(j.id) ?? [] };
    }),
    edges: f.edges.map((e) => ({ parentId: e.parent_id, jobId: e.job_id })),
  };
}
