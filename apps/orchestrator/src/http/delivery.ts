import type { FastifyReply } from 'fastify';

const EMPTY = Buffer.alloc(0);

/**
 * Calls `undelivered` once if the answer of `reply` does not reach the operating system whole: the connection
 * closed before the answer was finished, the answer is an error, or the connection was destroyed while its tail
 * was still queued. The last is what a runner hanging up mid-answer looks like: the response 'finish'es as soon as
 * its bytes are queued, so an empty write after it tells (its callback runs once everything before it was written,
 * or fails with the socket). Under Fastify's inject there is no real socket: a finished 200 counts as delivered.
 */
export function onUndelivered(reply: FastifyReply, undelivered: () => void): void {
  const res = reply.raw;
  const socket = res.socket;
  let finished = false;
  res.once('finish', () => {
    finished = true;
    if (reply.statusCode !== 200) return undelivered();
    if (typeof socket?.write !== 'function' || socket.destroyed) {
      if (socket?.destroyed) undelivered();
      return;
    }
    socket.write(EMPTY, (err) => {
      if (err) undelivered();
    });
  });
  res.once('close', () => {
    if (!finished) undelivered();
  });
}
