import { SIGNATURE_HEADER, WebhookPayload } from '@hourglass/contracts';
import { Agent, request } from 'undici';
import { defineHandler } from '../../handler.js';
import { RefusedTargetError, refusedLiteral, safeLookup } from './outbound-policy.js';
import { sign } from './signature.js';

export const USER_AGENT = 'hourglass-webhook/0.1 (+https://github.com/hourglass)';
const MAX_RESPONSE_BYTES = 16 * 1024;

export interface WebhookSettings {
  /** HMAC key for the signature header; without one the header is not sent. */
  secret?: string | undefined;
  /** Refuse private, loopback and link-local targets, checked on the resolved address (default true). */
  blockPrivateTargets?: boolean;
  /** Default 3,000 ms. */
  connectTimeoutMs?: number;
  /** Whole request, headers and (capped) body, unless the job's own timeout is shorter (default 10,000 ms). */
  timeoutMs?: number;
}

/** One connection pool per distinct policy and connect timeout (a runner has one; tests may use several). */
const agents = new Map<string, Agent>();
function agentFor(blockPrivate: boolean, connectTimeoutMs: number): Agent {
  const key = `${blockPrivate}:${connectTimeoutMs}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { timeout: connectTimeoutMs, ...(blockPrivate ? { lookup: safeLookup } : {}) },
      keepAliveTimeout: 4_000,
    });
    agents.set(key, agent);
  }
  return agent;
}

export class WebhookError extends Error {}

/**
 * The `webhook` type (what timers are made of): POSTs `{timerId, scheduledFor, firedAt, payload}` to the URL.
 * 2xx is success; any other status, a timeout or a connection error fails the attempt (retried with the job's
 * backoff). Redirects are not followed, and at most 16 KiB of the answer is read. `Idempotency-Key` is the same on
 * every attempt of one timer, so a receiver can drop the duplicate that at-least-once delivery may bring.
 */
export function createWebhookHandler(settings: WebhookSettings = {}) {
  const secret = settings.secret;
  const blockPrivate = settings.blockPrivateTargets ?? true;
  const connectTimeoutMs = settings.connectTimeoutMs ?? 3_000;
  const timeoutMs = settings.timeoutMs ?? 10_000;
  return defineHandler({
    type: 'webhook',
    payload: WebhookPayload,
    handle: async (p, ctx) => {
      const url = new URL(p.url);
      if (blockPrivate) {
        const refused = refusedLiteral(url.hostname);
        if (refused) throw new WebhookError(`target refused: ${refused}`);
      }
      // A completion callback (raw) posts the job as the orchestrator wrote it; a timer, its envelope.
      const body = JSON.stringify(
        p.raw
          ? (p.payload ?? null)
          : {
              timerId: ctx.jobId,
              scheduledFor: ctx.scheduledFor,
              firedAt: new Date().toISOString(),
              payload: p.payload ?? null,
            },
      );
      const headers: Record<string, string> = {
        ...p.headers,
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        // Stable across the retries of one occurrence, distinct between occurrences (issue 10, defect 5).
        'idempotency-key': p.idempotencyKey ?? `timer-${ctx.idempotencyKey}`,
      };
      if (secret) headers[SIGNATURE_HEADER] = sign(secret, body, Math.floor(Date.now() / 1000));

      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          method: 'POST',
          body,
          headers,
          dispatcher: agentFor(blockPrivate, connectTimeoutMs),
          signal: AbortSignal.any([ctx.signal, timeout]),
          maxRedirections: 0,
        } as Parameters<typeof request>[1]);
      } catch (err) {
        if (timeout.aborted) throw new WebhookError(`no answer within ${timeoutMs} ms`);
        const cause = (err as { cause?: unknown }).cause;
        if (cause instanceof RefusedTargetError || err instanceof RefusedTargetError) {
          throw new WebhookError(`target refused: ${((cause ?? err) as Error).message}`);
        }
        throw new WebhookError(`request failed: ${(err as Error).message}`);
      }
      const excerpt = await readCapped(res.body, MAX_RESPONSE_BYTES);
      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw new WebhookError(
          `receiver answered ${res.statusCode}${excerpt ? `: ${excerpt.slice(0, 200)}` : ''}`,
        );
      }
      return { status: res.statusCode };
    },
  });
}

/** Reads at most `limit` bytes of a body and discards the rest without buffering it. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
