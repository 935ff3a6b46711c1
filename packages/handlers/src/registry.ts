import { echoHandler } from './echo.js';
import type { Handler } from './handler.js';
import { noopHandler } from './noop.js';
import { sleepHandler } from './sleep.js';
import { webhookHandler } from './webhook/webhook.js';

/** Every job type the system knows. A new type is one file plus one line here. */
const all: Handler[] = [noopHandler, echoHandler, sleepHandler, webhookHandler];

export const registry: ReadonlyMap<string, Handler> = new Map(all.map((h) => [h.type, h]));
export const knownTypes: readonly string[] = [...registry.keys()].sort();

export type PayloadCheck = { ok: true; payload: unknown } | { ok: false; field: string; message: string };

/** Validates (and fills defaults of) a payload for `type`, naming the offending field on failure. */
export function checkPayload(type: string, payload: unknown): PayloadCheck {
  const handler = registry.get(type);
  if (!handler) {
    return {
      ok: false,
      field: 'type',
      message: `unknown job type '${type}'; known types: ${knownTypes.join(', ')}`,
    };
  }
  const parsed = handler.payload.safeParse(payload);
  if (parsed.success) return { ok: true, payload: parsed.data ?? null };
  const issue = parsed.error.issues[0]!;
  return { ok: false, field: ['payload', ...issue.path.map(String)].join('.'), message: issue.message };
}
