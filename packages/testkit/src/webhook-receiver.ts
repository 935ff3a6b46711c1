import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request the receiver got, as a webhook receiver sees it. */
export interface Delivery {
  path: string;
  /** Date.now() when the request's headers arrived. */
  receivedAt: number;
  headers: IncomingHttpHeaders;
  /** The body byte for byte (what a signature is computed over). */
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  /** The `idempotency-key` header ('' when absent). */
  key: string;
  /** The status the receiver answered (undefined while it hangs). */
  status?: number;
}

/** What a path answers. */
export type Behaviour =
  | { kind: 'ok' }
  /** 500 for the first `times` deliveries of each idempotency key, then 200. */
  | { kind: 'fail-then-ok'; times: number }
  | { kind: 'always-fail' }
  /** Never answers (the socket stays open until the receiver closes). */
  | { kind: 'hang' }
  /** 302 with `Location: to`. */
  | { kind: 'redirect'; to: string }
  /** `status` (200 by default) with a body of `bytes` bytes. */
  | { kind: 'large'; bytes: number; status?: number };

/**
 * A real HTTP server on 127.0.0.1 and a free port that records every delivery (time, headers, raw and parsed
 * body) and answers per path as told (`on(path, behaviour)`; unknown paths answer 200). Tests count what
 * arrived, e.g. by Idempotency-Key, to prove once-only delivery.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly seenPerKey = new Map<string, number>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly server = createServer((req, res) => {
    const receivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      const key = String(req.headers['idempotency-key'] ?? '');
      const d: Delivery = { path, receivedAt, headers: req.headers, rawBody, body, key };
      this.deliveries.push(d);
      this.answer(d, res);
    });
  });
  url = '';
  port = 0;

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    // Many short requests from several runners: no keep-alive limit surprises.
    r.server.keepAliveTimeout = 5_000;
    r.server.listen(0, '127.0.0.1');
    await once(r.server, 'listening');
    r.port = (r.server.address() as AddressInfo).port;
    r.url = `http://127.0.0.1:${r.port}`;
    return r;
  }

  /** Sets what `path` answers from now on. */
  on(path: string, behaviour: Behaviour): this {
    this.behaviours.set(path, behaviour);
    return this;
  }

  /** Deliveries to `path` (all paths when omitted). */
  at(path?: string): Delivery[] {
    return path === undefined ? this.deliveries : this.deliveries.filter((d) => d.path === path);
  }

  /** How many deliveries each Idempotency-Key got (on `path`, or everywhere). */
  countsByKey(path?: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const d of this.at(path)) counts.set(d.key, (counts.get(d.key) ?? 0) + 1);
    return counts;
  }

  /** Waits (bounded) until at least `count` deliveries arrived (on `path`, or everywhere). */
  async waitFor(count: number, path?: string, timeoutMs = 20_000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.at(path).length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms: ${this.at(path).length} of ${count} deliveries${path ? ` on ${path}` : ''}`,
        );
      }
      await sleep(20);
    }
    return this.at(path);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }

  private answer(d: Delivery, res: ServerResponse): void {
    const reply = this.replyFor(d);
    if (!reply) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    const [status, body, headers] = reply;
    d.status = status;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  }

  /** Status, body and headers of the answer to `d`, or undefined to hang. */
  private replyFor(d: Delivery): [number, string, Record<string, string>?] | undefined {
    const b = this.behaviours.get(d.path) ?? { kind: 'ok' };
    switch (b.kind) {
      case 'ok':
        return [200, 'ok'];
      case 'always-fail':
        return [500, 'receiver is down'];
      case 'fail-then-ok': {
        const id = `${d.path} ${d.key}`;
        const seen = (this.seenPerKey.get(id) ?? 0) + 1;
        this.seenPerKey.set(id, seen);
        return seen <= b.times ? [500, `failure ${seen} of ${b.times}`] : [200, 'ok'];
      }
      case 'hang':
        return undefined;
      case 'redirect':
        return [302, '', { location: b.to }];
      case 'large':
        return [b.status ?? 200, 'x'.repeat(b.bytes)];
    }
  }
}

/** Nearest-rank percentile of `values` (0 < p ≤ 100). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** "p50 … p99 … max …" in ms for a log line. */
export function latenessSummary(values: number[]): { p50: number; p99: number; max: number; line: string } {
  const p50 = percentile(values, 50);
  const p99 = percentile(values, 99);
  const max = Math.max(...values);
  return { p50, p99, max, line: `n=${values.length} p50=${p50} ms p99=${p99} ms max=${max} ms` };
}
