import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The README's signature check, line for line as a receiver copies it (tests use this one copy, so the
 * documented recipe is the one proven against real deliveries).
 */
export function verify(secret: string, rawBody: string, header: string, now = Date.now() / 1000) {
  const { t, v1 = '' } = Object.fromEntries(header.split(',').map((kv) => kv.split('=')));
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === 32 && timingSafeEqual(given, expected) && Math.abs(now - Number(t)) <= 300;
}
