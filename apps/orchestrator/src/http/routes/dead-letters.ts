import { DeadLetterListQuery, IdParams } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../../services/index.js';
import { page, toDeadLetter, toExecution } from '../serializers.js';

export const deadLetterRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/dead-letters',
      { config: { auth: 'client' }, schema: { querystring: DeadLetterListQuery } },
      async (req) => {
        return page((await s.deadLetters.list(req.query)).map(toDeadLetter), req.query.limit);
      },
    );

    app.post(
      '/dead-letters/:id/requeue',
      { config: { auth: 'client' }, schema: { params: IdParams } },
      async (req, reply) => {
        return reply.status(202).send(toExecution(await s.deadLetters.requeue(req.params.id)));
      },
    );
  };
