import Fastify from 'fastify';
import { afterAll, expect, test } from 'vitest';
import { installErrorHandling } from '../src/http/errors.js';

/**
 * Errors of a PostgreSQL that is unreachable, shutting down or starting up are 503 DATABASE_UNAVAILABLE ("retry
 * shortly"), not 500 INTERNAL. `pnpm chaos` saw 500s around its PostgreSQL restart: connecting while the server
 * shuts down or starts up fails with SQLSTATE 57P03, or the socket is reset, and neither message names a
 * connection or a termination.
 */
const app = Fastify({ logger: false });
installErrorHandling(app);
/** Throws what node-postgres throws for a server error: an Error with the server's message and SQLSTATE `code`. */
app.get('/fail/:code', async (req) => {
  const { code } = req.params as { code: string };
  throw Object.assign(new Error(MESSAGES[code]), { code });
});
const MESSAGES: Record<string, string> = {
  '57P03': 'the database system is shutting down',
  '57P01': 'terminating connection due to administrator command',
  '57P02': 'terminating connection because of crash of another server process',
  '08006': 'server closed the connection unexpectedly',
  '08001': 'could not establish a session',
  '42P01': 'relation "jobs" does not exist',
  // Not SQLSTATEs: the socket to a server going down, as node-postgres reports it.
  ECONNRESET: 'read ECONNRESET',
  EPIPE: 'write EPIPE',
};
afterAll(() => app.close());

test.each(['57P03', '57P01', '57P02', '08006', '08001', 'ECONNRESET', 'EPIPE'])(
  'error code %s is a 503 DATABASE_UNAVAILABLE',
  async (code) => {
    const res = await app.inject({ method: 'GET', url: `/fail/${code}` });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
  },
);

test('any other server error is still a 500 INTERNAL', async () => {
  const res = await app.inject({ method: 'GET', url: '/fail/42P01' });
  expect(res.statusCode).toBe(500);
  expect(res.json()).toMatchObject({ code: 'INTERNAL' });
});
