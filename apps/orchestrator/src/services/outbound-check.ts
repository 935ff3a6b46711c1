import { lookup } from 'node:dns/promises';
import { isPrivateAddress, refusedLiteral } from '@hourglass/runner/builtin';

const LOOKUP_TIMEOUT_MS = 1_000;

/**
 * Why a webhook URL is refused under the private-targets policy, when that can be known at creation: an IP
 * literal or loopback name in a refused range, or a DNS name that resolves there now. A name that does not
 * resolve yet is accepted; the runner checks the address it actually connects to when the timer fires.
 */
export async function refusedWebhookTarget(url: string): Promise<string | undefined> {
  const { hostname } = new URL(url);
  const literal = refusedLiteral(hostname);
  if (literal) return literal;
  const host = hostname.replace(/^\[|\]$/g, '');
  try {
    const addresses = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timeout')), LOOKUP_TIMEOUT_MS).unref(),
      ),
    ]);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    return bad
      ? `${hostname} resolves to ${bad.address}, a private, loopback or link-local address`
      : undefined;
  } catch {
    return undefined;
  }
}
