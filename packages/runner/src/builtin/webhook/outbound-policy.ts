import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where webhooks may go when private targets are refused: global unicast addresses only, as classified by ipaddr.js
 * (a well-kept table of the IANA special-purpose ranges) rather than prefixes written by hand. Refused: loopback,
 * private, link-local (cloud metadata), carrier-grade NAT, unspecified, broadcast, multicast, reserved and
 * documentation ranges, and every IPv6 form that carries or reaches an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`
 * is judged by its IPv4 address; IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo,
 * `::ffff:0:0:0/96` are refused outright), unique-local and the deprecated site-local `fec0::/10`.
 */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 0) return false; // a name: judged on what it resolves to (safeLookup)
  let ip: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    // ::/96, IPv4-compatible addresses (ipaddr.js files them under unicast); also :: and ::1.
    else if (v6.parts.slice(0, 6).every((part) => part === 0)) return true;
  }
  return ip.range() !== 'unicast';
}

export class RefusedTargetError extends Error {}

/** A host that is an IP literal in a refused range; DNS names are judged when they resolve (see safeLookup). */
export function refusedLiteral(hostname: string): string | undefined {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return `${hostname} is a loopback name`;
  if (isPrivateAddress(host)) return `${hostname} is in a private, loopback or link-local range`;
  return undefined;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for the socket's connect: it resolves the name and refuses a private address at connect time, on
 * the address actually dialled, so a DNS name that resolves (or re-resolves) to an internal host cannot slip
 * past a check made earlier.
 */
export function safeLookup(hostname: string, options: object, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const e = new RefusedTargetError(
        `${hostname} resolves to ${bad.address}, a private, loopback or link-local address`,
      );
      return callback(e as NodeJS.ErrnoException, []);
    }
    if ((options as { all?: boolean }).all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}
