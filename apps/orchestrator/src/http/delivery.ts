import type { FastifyReply } from 'fastify';

/**
 * Calls `undelivered` once if the answer of `reply` was not handed whole to the operating system: the connection
 * closed before the response finished, the socket broke while its last bytes were still being written (the
 * runner hung up mid-answer: the response then still emits 'finish', on a destroyed socket), or the answer is an
 * error (it failed to serialise). Bytes lost after they reached the kernel's socket buffers cannot be told apart
 * from delivered ones here; the runner's next heartbeat that does not list them gives them back
 * (heartbeat-runner.ts), or lease expiry does.
 */
export function onUndelivered(reply: FastifyReply, undelivered: () => void): void {
  // Taken now: the response lets go of its socket before 'finish'.
  const socket = reply.raw.socket;
  let finished = false;
  reply.raw.once('finish', () => {
    finished = true;
    if (reply.statusCode !== 200 || socket?.destroyed) undelivered();
  });
  reply.raw.once('close', () => {
    if (!finished) undelivered();
  });
}
