import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { runnerKeyId } from '../queue/api-keys.js';
import { hashKey, type Scope, sameHash } from './api-key.js';
import { FailedAuthLimiter } from './failed-auth-limiter.js';
import { allows, KeyResolver, type Principal, type RateLimits } from './principal.js';

/**
 * What a route needs, set in its `config.auth`: a scope, `anyKey` (any valid key, whatever its scopes: `GET
 * /auth/me`), `public` (health, docs, the dashboard's files), or `metrics` (public unless METRICS_API_KEY is set,
 * then that key).
 */
export type RouteAuth = Scope | 'anyKey' | 'public' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** Where the runner id of a runner-scoped route is: a runner key may act only as runners it registered. */
    runnerIdIn?: 'params' | 'body';
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AuthOptions {
  db: Db;
  enabled: boolean;
  adminKey: string | undefined;
  limits: RateLimits;
  /** Failed authentications a client address may make per minute before it gets 429s. */
  failedAuthPerMinute: number;
  /** The key GET /metrics needs; undefined: /metrics is public. */
  metricsKey?: string | undefined;
}

const unauthenticated = (detail: string) => new AppError('UNAUTHENTICATED', detail);

function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw unauthenticated('Authorization must be "Bearer <api key>"');
    return m[1];
  }
  const x = req.headers['x-api-key'];
  if (Array.isArray(x)) throw unauthenticated('send one X-API-Key header');
  return x;
}

/**
 * API keys and scopes on every route (routes without `config.auth` need admin, so a forgotten route is closed,
 * not open), 401 for a missing or unknown key, 403 for a key without the scope, and per-key rate limits.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: AuthOptions) => {
  const resolver = new KeyResolver(opts.db, opts.adminKey, opts.limits);
  app.decorate('keyResolver', resolver);

  // GET /metrics: its own key when one is set, whether or not API keys are on.
  const metricsHash = opts.metricsKey ? hashKey(opts.metricsKey) : undefined;
  if (metricsHash) {
    app.addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.config.auth !== 'metrics') return;
      const key = presentedKey(req);
      if (!key || !sameHash(hashKey(key), metricsHash)) {
        void reply.header('www-authenticate', 'Bearer');
        throw unauthenticated(
          'GET /metrics needs the METRICS_API_KEY: Authorization: Bearer <key> or X-API-Key',
        );
      }
    });
  }

  if (opts.enabled) {
    const failures = new FailedAuthLimiter(opts.failedAuthPerMinute);
    app.addHook('onRequest', async (req, reply) => {
      // Swagger UI's own routes (/docs/…) are documentation, public like /openapi.json.
      const needed = req.routeOptions.url?.startsWith('/docs')
        ? 'public'
        : (req.routeOptions.config.auth ?? 'admin');
      if (needed === 'public' || needed === 'metrics' || req.is404) return;
      const waitMs = failures.blockedFor(req.ip);
      if (waitMs > 0) {
        void reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
        throw new AppError(
          'RATE_LIMITED',
          `too many failed authentications from ${req.ip}; retry in ${Math.ceil(waitMs / 1000)} s`,
        );
      }
      let key: string | undefined;
      try {
        key = presentedKey(req);
      } catch (err) {
        failures.failed(req.ip);
        throw err;
      }
      if (!key) {
        failures.failed(req.ip);
        void reply.header('www-authenticate', 'Bearer');
        throw unauthenticated('this route needs an API key: Authorization: Bearer <key> or X-API-Key');
      }
      const principal = await resolver.resolve(key);
      if (!principal) {
        failures.failed(req.ip);
        void reply.header('www-authenticate', 'Bearer error="invalid_token"');
        throw unauthenticated('the API key is unknown or revoked');
      }
      req.principal = principal;
      if (needed !== 'anyKey' && !allows(principal, needed)) {
        throw new AppError(
          'FORBIDDEN',
          `this route needs the ${needed} scope; the key has ${principal.scopes.join(', ')}`,
        );
      }
    });

    // A runner key may heartbeat, claim and complete only as a runner registered with that key.
    app.addHook('preHandler', async (req) => {
      const where = req.routeOptions.config.runnerIdIn;
      const p = req.principal;
      if (!where || !p || p.scopes.includes('admin')) return;
      const runnerId =
        where === 'params'
          ? (req.params as { id?: string }).id
          : (req.body as { runnerId?: string } | null)?.runnerId;
      if (!runnerId) return;
      const owner = await runnerKeyId(opts.db, runnerId);
      if (owner !== undefined && owner !== p.keyId) {
        throw new AppError('NOT_YOUR_RUNNER', `runner ${runnerId} was registered with another key`);
      }
    });
  }

  // Limits are per key; without authentication there is no key to count against (local development).
  if (!opts.enabled) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    timeWindow: 60_000,
    max: (req) => req.principal?.rateLimitPerMinute ?? opts.limits.client,
    keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId ?? 'admin'}` : `ip:${req.ip}`),
    allowList: (req) => req.routeOptions.config.auth === 'public',
    errorResponseBuilder: (_req, ctx) =>
      new AppError(
        'RATE_LIMITED',
        `rate limit of ${ctx.max} requests per minute reached; retry in ${ctx.after}`,
      ),
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    keyResolver: KeyResolver;
  }
}
