import { ApiKeyList, CreateApiKeyBody, CreatedApiKey, IdParams } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { newApiKey } from '../../auth/api-key.js';
import { notFound } from '../../errors.js';
import { type ApiKeyRow, insertApiKey, listApiKeys, revokeApiKey } from '../../queue/api-keys.js';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';

const toApiKey = (r: ApiKeyRow) => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes as ('admin' | 'client' | 'runner')[],
  rateLimitPerMinute: r.rate_limit_per_minute,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

/** Key management, admin only. A key's secret is returned once, at creation; only its hash is stored. */
export const apiKeyRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api-keys',
      {
        config: { auth: 'admin' },
        schema: {
          ...doc('Keys', 'Create an API key (admin); its secret is in this answer only', {
            201: CreatedApiKey,
          }),
          body: CreateApiKeyBody,
        },
      },
      async (req, reply) => {
        const { key, prefix, hash } = newApiKey();
        const row = await insertApiKey(s.db, {
          name: req.body.name,
          prefix,
          hash,
          scopes: [...new Set(req.body.scopes)],
          rateLimitPerMinute: req.body.rateLimitPerMinute ?? null,
        });
        return reply.status(201).send({ ...toApiKey(row), key });
      },
    );

    app.get(
      '/api-keys',
      {
        config: { auth: 'admin' },
        schema: doc('Keys', 'List API keys (admin); secrets are never shown', { 200: ApiKeyList }),
      },
      async () => ({
        items: (await listApiKeys(s.db)).map(toApiKey),
      }),
    );

    app.delete(
      '/api-keys/:id',
      {
        config: { auth: 'admin' },
        schema: {
          ...doc('Keys', 'Revoke an API key (admin)', { 204: z.null().describe('Revoked') }),
          params: IdParams,
        },
      },
      async (req, reply) => {
        if (!(await revokeApiKey(s.db, req.params.id))) throw notFound('active API key', req.params.id);
        app.keyResolver.forgetAll();
        return reply.status(204).send(null);
      },
    );
  };
