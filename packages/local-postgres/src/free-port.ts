import { createServer } from 'node:net';

/**
 * Asks the kernel for an unused TCP port on `host` by binding port 0 and releasing it again.
 * Another process can grab the port between our close() and the server's bind(), so callers
 * that start a server on it should retry with a new port when the bind fails.
 */
export function pickFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port bound on ${host}`));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}
