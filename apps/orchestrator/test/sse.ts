import type { HourglassEvent } from '@hourglass/contracts';

/**
 * A test's reader of `GET /events` over a real socket (fetch streaming, as a browser or the client SDK reads it):
 * collects events as they arrive and ends when the server ends the stream or `close()` aborts it.
 */
export class SseReader {
  readonly events: HourglassEvent[] = [];
  /** Comment lines received (`connected`, `keep-alive`). */
  readonly comments: string[] = [];
  /** Messages that broke the format (a test expects none). */
  readonly errors: string[] = [];
  /** Resolves when the stream ended: 'server' (the server closed it) or 'aborted'. */
  readonly ended: Promise<'server' | 'aborted'>;
  readonly status: Promise<number>;
  private readonly controller = new AbortController();

  constructor(url: string, headers: Record<string, string> = {}) {
    const response = fetch(url, { headers, signal: this.controller.signal });
    this.status = response.then((r) => r.status);
    this.ended = response.then(
      async (res) => {
        if (!res.ok || !res.body) return 'server' as const;
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            buffer += decoder.decode(chunk, { stream: true });
            let end = buffer.indexOf('\n\n');
            while (end >= 0) {
              this.message(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
              end = buffer.indexOf('\n\n');
            }
          }
          return 'server' as const;
        } catch {
          return 'aborted' as const;
        }
      },
      () => 'aborted' as const,
    );
  }

  /** Waits (bounded) until `predicate` holds for the events received so far. */
  async waitFor(predicate: (events: HourglassEvent[]) => boolean, timeoutMs = 20_000, what = 'events') {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${this.events.map((e) => e.kind).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.events;
  }

  /** The id of the last event received (what a client sends as Last-Event-ID). */
  get lastId(): number | undefined {
    return this.events.at(-1)?.id;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.ended;
  }

  private message(block: string): void {
    let id: string | undefined;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) return;
    const parsed = JSON.parse(data.join('\n')) as HourglassEvent;
    if (String(parsed.id) !== id || parsed.kind !== event) this.errors.push(block);
    this.events.push(parsed);
  }
}
