import { EventCursor, EventsQuery, HourglassEvent } from '@hourglass/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { EventRow } from '../../queue/read-events.js';
import type { Services } from '../../services/index.js';
import { doc } from '../docs.js';

/** One event as an SSE message: `id:`, `event:` (its kind) and the event as JSON on one `data:` line. */
export function sseMessage(e: EventRow): string {
  const event: HourglassEvent = {
    id: e.id,
    kind: e.kind,
    at: e.at.toISOString(),
    jobId: e.job_id,
    executionId: e.execution_id,
    runnerId: e.runner_id,
    jobType: e.job_type,
    data: e.data,
  };
  return `id: ${e.id}\nevent: ${e.kind}\ndata: ${JSON.stringify(event)}\n\n`;
}

export const eventRoutes =
  (s: Services): FastifyPluginAsyncZod =>
  async (app) => {
    /**
     * Server-Sent Events of every state change (issue 13; README, "Events and callbacks"). Resumes after `after` or
     * the Last-Event-ID header (the header wins), else starts with new events. Pages are written one at a time, each
     * after the client has taken the previous one (backpressure), so a slow client holds one page of memory.
     */
    app.get(
      '/events',
      {
        config: { auth: 'client' },
        schema: {
          ...doc('Events', 'Follow state changes as Server-Sent Events (text/event-stream)', {
            200: HourglassEvent.describe(
              'A text/event-stream of messages `id: <id>`, `event: <kind>`, `data: <this object as JSON>`; ' +
                'a `: keep-alive` comment every 15 s',
            ),
          }),
          querystring: EventsQuery,
          headers: z.looseObject({ 'last-event-id': EventCursor.optional() }),
        },
      },
      async (req, reply) => {
        if (!s.events.openStream()) {
          reply.header('retry-after', '5');
          throw new AppError(
            'RATE_LIMITED',
            `this orchestrator already serves ${s.events.maxStreams} event streams (EVENTS_MAX_STREAMS); retry later or on another replica`,
          );
        }
        // Counted out when the response closes, however it ends (a client gone, the end, an error before it began).
        reply.raw.once('close', () => s.events.closeStream());
        const { jobId, type, kinds, after, follow } = req.query;
        const resumeFrom = req.headers['last-event-id'] ?? after;
        const cursor = resumeFrom ?? (await s.events.refreshHead());
        const res = reply.raw;
        const closed = new AbortController();
        res.on('close', () => closed.abort());
        reply.hijack();
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          // Proxies such as nginx buffer responses unless told not to; a stream must not wait in a buffer.
          'x-accel-buffering': 'no',
        });
        // The stream is open (a client can tell "connected, nothing yet" from "still connecting"), and from where: a
        // client that started "from now" and reconnects before any event came resumes from this id, not from a later
        // "now" (a comment, so SSE clients that do not look for it ignore it).
        res.write(`: connected, after ${cursor}\n\n`);
        // Resolves once the client has taken what was written (or went away).
        const written = (chunk: string) =>
          res.write(chunk)
            ? Promise.resolve()
            : new Promise<void>((resolve) => {
                const done = () => {
                  res.off('drain', done);
                  res.off('close', done);
                  resolve();
                };
                res.on('drain', done);
                res.on('close', done);
              });
        try {
          const pages = s.events.follow(
            { jobId, type, kinds },
            cursor,
            closed.signal,
            // A comment line keeps proxies and load balancers from closing a quiet stream.
            s.events.keepAliveMs,
            () => written(': keep-alive\n\n'),
            !follow,
          );
          for await (const page of pages) {
            await written(page.map(sseMessage).join(''));
          }
        } catch (err) {
          req.log.warn({ err }, 'event stream ended by an error; the client resumes with Last-Event-ID');
        } finally {
          res.end();
        }
      },
    );
  };
