import { DeadLetterList, DeadLetterListQuery, Execution, IdParams } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';
import { page, toDeadLetter, toExecution } from '../serializers.js';

export const deadLetterRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/dead-letters',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Dead letters', 'List dead-lettered executions, newest first', { 200: DeadLetterList }),
          querystring: DeadLetterListQuery,
        },
      },
      async (req) => {
        const { rows, truncated } = await s.deadLetters.list(req.query);
        return page(rows.map(toDeadLetter), req.query.limit, truncated);
      },
    );

    app.post(
      '/dead-letters/:id/requeue',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Dead letters', 'Run a dead-lettered job again with a fresh retry budget', {
            202: Execution,
          }),
          params: IdParams,
        },
      },
      async (req, reply) => {
        return reply.status(202).send(toExecution(await s.deadLetters.requeue(req.params.id)));
      },
    );
  };
