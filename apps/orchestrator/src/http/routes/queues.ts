import { Queue, QueueList, QueueParams, QueueSettingsBody } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';

/** Queues (issue 14): listing is for clients; limits and pausing are for admins. */
export const queueRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/queues',
      {
        config: { auth: 'client' },
        schema: {
          ...doc(
            'Queues',
            'Every queue with its settings and live counts (due, running, scheduled, failed)',
            {
              200: QueueList,
            },
          ),
          querystring: z.strictObject({}),
        },
      },
      async () => s.queues.list(),
    );

    app.get(
      '/queues/:name',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Queues', 'One queue with its settings and live counts', { 200: Queue }),
          params: QueueParams,
        },
      },
      async (req) => s.queues.get(req.params.name),
    );

    app.put(
      '/queues/:name',
      {
        config: { auth: 'admin' },
        schema: {
          ...doc('Queues', 'Set a queue’s limits: concurrency, perKeyConcurrency, rateLimit (admin)', {
            200: Queue,
          }),
          params: QueueParams,
          body: QueueSettingsBody,
        },
      },
      async (req) => s.queues.configure(req.params.name, req.body),
    );

    for (const action of ['pause', 'resume'] as const) {
      app.post(
        `/queues/:name/${action}`,
        {
          config: { auth: 'admin' },
          schema: {
            ...doc(
              'Queues',
              action === 'pause'
                ? 'Pause a queue: no claims from it; running executions finish (admin)'
                : 'Resume a queue: claims go on, waiting runners are woken (admin)',
              { 200: Queue },
            ),
            params: QueueParams,
          },
        },
        async (req) => s.queues.setPaused(req.params.name, action === 'pause'),
      );
    }
  };
