import { CreatedTimer, CreateTimerBody, IdempotencyKeyHeader, IdParams, Timer } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';

export const timerRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    /** `{hours, minutes, seconds, url}` → `201 {id, time_left}`: POST to `url` once, when the time is up. */
    app.post(
      '/timers',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Timers', 'Call a URL once after hours, minutes and seconds', {
            201: CreatedTimer,
            200: CreatedTimer,
          }),
          body: CreateTimerBody,
          headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeader.optional() }),
        },
      },
      async (req, reply) => {
        const { timer, created } = await s.timers.create(req.body, req.headers['idempotency-key']);
        if (!created) void reply.header('idempotent-replayed', 'true');
        return reply.status(created ? 201 : 200).send(timer);
      },
    );

    /** `{id, time_left}` (whole seconds, 0 once due) plus status, fire_at, fired_at, attempts, last_error. */
    app.get(
      '/timers/:id',
      {
        config: { auth: 'client' },
        schema: { ...doc('Timers', 'The countdown and status of a timer', { 200: Timer }), params: IdParams },
      },
      async (req) => s.timers.get(req.params.id),
    );
  };
