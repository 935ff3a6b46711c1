import { createHmac, timingSafeEqual } from 'node:crypto';

export { SIGNATURE_HEADER } from '@hourglass/contracts';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the Stripe scheme). */
export function sign(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a receiver does (the README gives the same lines): recompute the MAC over "<t>.<raw body>", compare in
 * constant time, and refuse stale timestamps so a captured request cannot be replayed later.
 */
export function verify(
  secret: string,
  body: string,
  header: string,
  toleranceSeconds = 300,
  nowMs = Date.now(),
) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return (
    given.length === expected.length &&
    timingSafeEqual(given, expected) &&
    Math.abs(nowMs / 1000 - t) <= toleranceSeconds
  );
}
