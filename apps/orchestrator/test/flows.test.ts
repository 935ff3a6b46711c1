import type { ClaimedExecution, Flow } from '@hourglass/contracts';
import { sql } from 'kysely';
import { describe, expect, test } from 'vitest';
import {
  claim,
  completeOk,
  createJob,
  failed,
  getJob,
  orchestratorPerFile,
  registerRunner,
  succeeded,
} from './helpers.js';

/** Flows (issue 14): jobs that wait for jobs, through the HTTP API on a real database. */

const o = orchestratorPerFile();

const postFlow = (jobs: object[]) => o.app.inject({ method: 'POST', url: '/flows', payload: { jobs } });

async function createFlow(jobs: object[]): Promise<Flow> {
  const res = await postFlow(jobs);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const idOf = (flow: Flow, ref: string) => flow.jobs.find((j) => j.ref === ref)!.id;

describe('creating flows', () => {
  test('a diamond: the root SCHEDULED, the others WAITING; GET /flows/{id} shows the DAG', async () => {
    const flow = await createFlow([
      { ref: 'd', type: 'f1', dependsOn: ['b', 'c'] },
      { ref: 'b', type: 'f1', dependsOn: ['a'] },
      { ref: 'c', type: 'f1', dependsOn: ['a'], onParentFailure: 'run' },
      { ref: 'a', type: 'f1' },
    ]);
    expect(flow.jobs.map((j) => [j.ref, j.status])).toEqual([
      ['a', 'SCHEDULED'],
      ['b', 'WAITING'],
      ['c', 'WAITING'],
      ['d', 'WAITING'],
    ]);
    const got = await o.app.inject({ method: 'GET', url: `/flows/${flow.id}` });
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json()).toEqual(flow);
    expect(flow.edges).toHaveLength(4);
    expect(flow.jobs.find((j) => j.ref === 'd')!.dependsOn).toEqual([idOf(flow, 'b'), idOf(flow, 'c')]);
    expect(flow.status).toBe('RUNNING');
    expect(flow.counts).toEqual({ SCHEDULED: 1, WAITING: 3 });
  });
});
