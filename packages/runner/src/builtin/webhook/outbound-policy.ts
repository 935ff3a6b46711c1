import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may not go when private targets are refused: loopback, private, link-local (cloud metadata),
 * carrier-grade NAT, unspecified and multicast ranges, for IPv4, IPv6 and IPv4-mapped IPv6.
 */
const blocked = new BlockList();
const V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
for (const [net, prefix] of V4) {
  blocked.addSubnet(net, prefix, 'ipv4');
  blocked.addSubnet(`::ffff:${net}`, 96 + prefix, 'ipv6');
}
blocked.addAddress('::', 'ipv6');
blocked.addAddress('::1', 'ipv6');
blocked.addSubnet('fc00::', 7, 'ipv6'); // unique local
blocked.addSubnet('fe80::', 10, 'ipv6'); // link-local
blocked.addSubnet('ff00::', 8, 'ipv6'); // multicast

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
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
