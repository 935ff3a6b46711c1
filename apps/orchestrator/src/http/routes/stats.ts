import { Me, Stats } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';

/** What a dashboard opens with: who the key is (to offer only allowed actions) and the overview figures. */
export const statsRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/auth/me',
      {
        // Any valid key may ask what it may do, a runner key too.
        config: { auth: 'anyKey' },
        schema: {
          ...doc('Keys', 'The presented API key: its name and scopes (what a user interface may offer)', {
            200: Me,
          }),
          querystring: z.strictObject({}),
        },
      },
      async (req): Promise<Me> => {
        const p = req.principal;
        // No principal on a route that needs a key: authentication is off, and everything is allowed.
        if (!p)
          return {
            name: 'anyone (authentication is off)',
            keyId: null,
            scopes: ['admin'],
            authEnabled: false,
          };
        return { name: p.name, keyId: p.keyId, scopes: p.scopes, authEnabled: true };
      },
    );

    app.get(
      '/stats',
      {
        config: { auth: 'client' },
        schema: {
          ...doc(
            'Ops',
            'Jobs by status and the last hour of finished executions per minute (the dashboard overview)',
            { 200: Stats },
          ),
          querystring: z.strictObject({}),
        },
      },
      async () => s.stats.get(),
    );
  };
