import {
  ActiveExecutions,
  CompleteBatchBody,
  CompleteBatchReply,
  CompleteBody,
  Execution,
  IdParams,
} from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, notFound } from '../../errors.js';
import type { Services } from '../../services/index.js';
import { storableOutcome } from '../../services/storable-outcome.js';
import { doc } from '../docs.js';
import { toActiveExecution, toExecution } from '../serializers.js';

export const executionRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/executions/active',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Executions', 'Running executions with their runners', { 200: ActiveExecutions }),
          querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(5000).default(1000) }),
        },
      },
      async (req) => ({ items: (await s.executions.active(req.query.limit)).map(toActiveExecution) }),
    );

    app.get(
      '/executions/:id',
      {
        config: { auth: 'client' },
        schema: { ...doc('Executions', 'One execution', { 200: Execution }), params: IdParams },
      },
      async (req) => {
        const row = await s.executions.get(req.params.id);
        if (!row) throw notFound('execution', req.params.id);
        return toExecution(row);
      },
    );

    /**
     * One report. Answers the execution as recorded; the holder repeating its report gets the same 200, anyone
     * else (lease lost, different outcome already recorded) a 409 that changed nothing. A result that cannot be
     * stored is recorded as a failure saying why (storableOutcome), not refused: the runner reported the truth.
     */
    app.post(
      '/executions/:id/complete',
      {
        config: { auth: 'runner', runnerIdIn: 'body', unstorableStringsJudgedByRoute: true },
        schema: {
          ...doc('Executions', 'Report an outcome (fenced, idempotent)', { 200: Execution }),
          params: IdParams,
          body: CompleteBody,
        },
      },
      async (req) => {
        const [result] = await s.completions.complete(req.body.runnerId, [
          { executionId: req.params.id, outcome: storableOutcome(req.body.outcome) },
        ]);
        const row = await s.executions.get(req.params.id);
        if (!row) throw notFound('execution', req.params.id);
        if (result!.verdict === 'conflict') {
          throw new AppError(
            'NOT_HOLDER',
            row.runner_id === req.body.runnerId
              ? `execution ${row.id} is already ${row.status}; this report changes nothing`
              : `runner ${req.body.runnerId} does not hold execution ${row.id} (it is ${row.status})`,
          );
        }
        return toExecution(row);
      },
    );

    /**
     * Many reports at once, as runners send them: a verdict per execution, never a 409 for the batch, and never a
     * 400 for a result that cannot be stored (it is recorded as a failure saying why, as for one report).
     */
    app.post(
      '/executions/complete',
      {
        config: { auth: 'runner', runnerIdIn: 'body', unstorableStringsJudgedByRoute: true },
        schema: {
          ...doc('Executions', 'Report many outcomes at once', { 200: CompleteBatchReply }),
          body: CompleteBatchBody,
        },
      },
      async (req) => ({
        results: await s.completions.complete(
          req.body.runnerId,
          req.body.results.map((r) => ({ executionId: r.executionId, outcome: storableOutcome(r.outcome) })),
        ),
      }),
    );
  };
