import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';

/**
 * What the proxy does with the n-th request (from 1, over all connections):
 * - `forward`: passes it to the orchestrator and its answer back;
 * - `drop`: passes it on, and when the answer starts to arrive, closes the client's connection instead of passing
 *   the answer on (the server did the work; the client never hears of it);
 * - `hang`: never answers;
 * - a canned answer: sent instead of forwarding (e.g. a 429 with Retry-After), then the connection is closed; a
 *   string body is sent as it is (text/html), anything else as problem+json.
 */
export type ProxyAction =
  | 'forward'
  | 'drop'
  | 'hang'
  | { status: number; headers?: Record<string, string>; body?: unknown };

/**
 * A tiny HTTP-aware TCP proxy on 127.0.0.1 in front of a real orchestrator, for failures a real network has: a
 * connection lost after the request was sent, an overloaded gateway, a server that does not answer.
 */
export class FaultyProxy {
  url = '';
  /** Every request that reached the proxy: method and path. */
  readonly requests: string[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((client) => this.serve(client));

  private constructor(
    private readonly target: { host: string; port: number },
    private readonly plan: (n: number) => ProxyAction,
  ) {}

  static async start(targetUrl: string, plan: (n: number) => ProxyAction): Promise<FaultyProxy> {
    const { hostname, port } = new URL(targetUrl);
    const proxy = new FaultyProxy({ host: hostname, port: Number(port) }, plan);
    proxy.server.listen(0, '127.0.0.1');
    await once(proxy.server, 'listening');
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Closes every open connection, the proxy still listening: a network blip in the middle of a stream. */
  cutConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }

  private serve(client: Socket): void {
    this.track(client);
    let upstream: Socket | undefined;
    let buffered = Buffer.alloc(0);
    let dropOnAnswer = false;
    client.on('error', () => {});
    client.on('close', () => upstream?.destroy());
    client.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // Requests one after another on a kept-alive connection: act on each once it is whole.
      for (let size = requestSize(buffered); size > 0; size = requestSize(buffered)) {
        const request = buffered.subarray(0, size);
        buffered = buffered.subarray(size);
        this.requests.push(request.toString('latin1').split(' ', 2).join(' '));
        const action = this.plan(this.requests.length);
        if (action === 'hang') return;
        if (typeof action === 'object') {
          const raw = typeof action.body === 'string';
          const body =
            action.body === undefined ? '' : raw ? (action.body as string) : JSON.stringify(action.body);
          const head = Object.entries({
            'content-type': raw ? 'text/html' : 'application/problem+json',
            'content-length': String(Buffer.byteLength(body)),
            connection: 'close',
            ...action.headers,
          }).map(([k, v]) => `${k}: ${v}\r\n`);
          client.end(`HTTP/1.1 ${action.status} Canned\r\n${head.join('')}\r\n${body}`);
          return;
        }
        dropOnAnswer = action === 'drop';
        if (!upstream) {
          upstream = createConnection(this.target);
          this.track(upstream);
          upstream.on('error', () => client.destroy());
          upstream.on('close', () => client.destroy());
          upstream.on('data', (answer: Buffer) => {
            if (dropOnAnswer) {
              client.destroy();
              upstream?.destroy();
            } else client.write(answer);
          });
        }
        upstream.write(request);
      }
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

/** The length of the first whole request in `data` (headers and a Content-Length body), or 0 if incomplete. */
function requestSize(data: Buffer): number {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return 0;
  const head = data.subarray(0, end).toString('latin1');
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
  const size = end + 4 + length;
  return data.length >= size ? size : 0;
}
