import { defineHandler, PermanentError } from '@hourglass/runner';
import { z } from 'zod';

export const ChargePayload = z.object({
  customerId: z.string().min(1).max(100),
  amountCents: z.number().int().positive(),
  description: z.string().max(500).default(''),
});

/**
 * Calls a billing API: `POST {baseUrl}/charges`. What the answer means for the job:
 * - 2xx: done; the invoice id is the result;
 * - 408, 429, 5xx, a timeout or no connection: a passing problem, so the attempt fails and is retried with backoff;
 * - any other 4xx (unknown customer, card declined): another attempt would get the same answer, so it fails for
 *   good (PermanentError) and the job goes to the dead-letter queue at once.
 * The job id is the Idempotency-Key, so a retry after a lost answer does not charge twice.
 */
export function createChargeCustomer(opts: { baseUrl: string; apiKey?: string; timeoutMs?: number }) {
  return defineHandler({
    type: 'billing.charge',
    payload: ChargePayload,
    retry: { maxAttempts: 5, backoff: { initialDelayMs: 2_000, factor: 2 } },
    handle: async (charge, ctx) => {
      let res: Response;
      try {
        res = await fetch(new URL('/charges', opts.baseUrl), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': `hourglass-job-${ctx.jobId}`,
            ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
          },
          body: JSON.stringify(charge),
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(opts.timeoutMs ?? 10_000)]),
        });
      } catch (err) {
        throw new Error(`billing API unreachable: ${(err as Error).message}`); // retried
      }
      const body = (await res.json().catch(() => ({}))) as { invoiceId?: string; error?: string };
      if (res.ok) return { invoiceId: body.invoiceId ?? null, attempt: ctx.attempt };
      const why = `billing API answered ${res.status}${body.error ? `: ${body.error}` : ''}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(why); // retried
      throw new PermanentError(why, { code: `BILLING_${res.status}` });
    },
  });
}
