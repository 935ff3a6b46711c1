/** One Server-Sent Events message (only the fields Hourglass sends). */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * The messages of a `text/event-stream` body, as the SSE specification splits them: lines end with LF, CRLF or CR;
 * a blank line ends a message; `:` lines are comments (given to `onComment`); `data:` lines join with LF. Reads chunk by chunk, so a long
 * stream never sits in memory whole.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  onComment: (text: string) => void = () => {},
): AsyncGenerator<SseMessage, void, undefined> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  let message: SseMessage = { id: undefined, event: undefined, data: '' };
  let hasData = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // The last piece may be a line cut by the chunk boundary; a CR at the very end may be half of a CRLF.
      const heldCr = buffer.endsWith('\r');
      const lines = (heldCr ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
      buffer = (lines.pop() ?? '') + (heldCr ? '\r' : '');
      for (const line of lines) {
        if (line === '') {
          if (hasData) yield message;
          message = { id: undefined, event: undefined, data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) {
          onComment(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          message.data = hasData ? `${message.data}\n${value}` : value;
          hasData = true;
        } else if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
