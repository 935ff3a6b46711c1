import { z } from 'zod';
import { Id, Timestamp } from './common.js';
import { CREATE_JOB_FIELDS, checkJobFields, Job, JobStatus, MAX_PARENTS } from './jobs.js';

/** Most jobs one `POST /flows` creates (one transaction, one insert statement). */
export const MAX_FLOW_JOBS = 1000;

/** A job's name inside a flow request, for `dependsOn` of the others. */
export const FlowRef = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 letters, digits, "_", ".", ":" or "-"');

/**
 * One job of a flow: a one-shot job's fields, its `ref`, and `dependsOn`: refs of other jobs of the request
 * (strings) and ids of existing jobs (numbers).
 */
export const FlowJobBody = z
  .strictObject({
    ...CREATE_JOB_FIELDS,
    ref: FlowRef,
    dependsOn: z
      .array(z.union([FlowRef, Id]))
      .min(1)
      .max(MAX_PARENTS)
      .optional(),
  })
  .superRefine((b, ctx) => {
    checkJobFields(b, ctx);
    // A flow is created whole or not at all: a job skipped for a key it shares with an existing one would leave its
    // dependents pointing at a job that is not part of the flow.
    for (const f of ['idempotencyKey', 'unique'] as const) {
      if (b[f] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [f], message: 'not supported on the jobs of a flow' });
      }
    }
    if (b.scheduleExpression !== undefined || b.intervalSeconds !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [b.scheduleExpression !== undefined ? 'scheduleExpression' : 'intervalSeconds'],
        message: 'the jobs of a flow are one-shot',
      });
    }
  });
export type FlowJobBody = z.infer<typeof FlowJobBody>;

/** Body of `POST /flows`: a DAG of jobs, created in one transaction. */
export const CreateFlowBody = z
  .strictObject({
    jobs: z.array(FlowJobBody).min(1).max(MAX_FLOW_JOBS),
  })
  .meta({
    examples: [
      {
        jobs: [
          { ref: 'fetch', type: 'echo', payload: { step: 'fetch' } },
          { ref: 'resize', type: 'echo', payload: { step: 'resize' }, dependsOn: ['fetch'] },
          { ref: 'index', type: 'echo', payload: { step: 'index' }, dependsOn: ['fetch'] },
          {
            ref: 'report',
            type: 'echo',
            payload: { step: 'report' },
            dependsOn: ['resize', 'index'],
            onParentFailure: 'run',
          },
        ],
      },
    ],
  });
export type CreateFlowBody = z.infer<typeof CreateFlowBody>;

/**
 * A job as a flow shows it: the job without its payload and history (GET /jobs/{id} has those), its ref in the flow,
 * and the jobs it waits for.
 */
export const FlowJob = Job.omit({
  payload: true,
  lastExecution: true,
  lastOccurrence: true,
  warnings: true,
  uniqueExisting: true,
}).extend({
  /** Its `ref` in the request that created the flow. */
  ref: z.string().nullable(),
  /** The ids of its parents (jobs of the flow, or existing jobs it was created to wait for). */
  dependsOn: z.array(Id),
});
export type FlowJob = z.infer<typeof FlowJob>;

/** `GET /flows/{id}` and the answer to `POST /flows`: the DAG with each job's status. */
export const Flow = z.object({
  id: Id,
  createdAt: Timestamp,
  /** SUCCEEDED once every job did; FAILED once every job ended and some did not succeed; else RUNNING. */
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']),
  /** How many of its jobs are in each status. */
  counts: z.partialRecord(JobStatus, z.number().int()),
  /** Its jobs, parents first (in id order: ids are given in a topological order of the request). */
  jobs: z.array(FlowJob),
  /** Every edge, parent first: `{ parentId, jobId }` (jobId waits for parentId). */
  edges: z.array(z.object({ parentId: Id, jobId: Id })),
  /** Only in the answer to a create: e.g. `TYPE_UNDECLARED` for a type no runner has declared yet. */
  warnings: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
});
export type Flow = z.infer<typeof Flow>;
