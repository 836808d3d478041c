import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import ipaddr from 'ipaddr.js';

/** The header the edge Worker sets to the reader's address (from `CF-Connecting-IP`). */
export const CLIENT_IP_HEADER = 'x-client-ip';
/** The header that carries the edge's shared secret. */
export const EDGE_SECRET_HEADER = 'x-edge-secret';

/** Address ranges whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`), parsed once. */
export type TrustedProxies = ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;

/** Who may tell the origin a reader's address: the edge (by its secret) and trusted proxies. */
export interface ClientIpOptions {
  edgeSecret: string | undefined;
  trustedProxies: TrustedProxies;
}

/**
 * The reader's address: the edge's `X-Client-IP` when the request carries the edge's shared
 * secret (anyone else could forge it); else, when the socket's peer is a trusted proxy, the
 * right-most address of `X-Forwarded-For` that is not itself a trusted proxy (the left part is
 * whatever the client chose to send); else the socket's peer address.
 */
export function clientIp(c: Context, options: ClientIpOptions): string {
  const sent = c.req.header(EDGE_SECRET_HEADER);
  const forwarded = c.req.header(CLIENT_IP_HEADER);
  if (
    options.edgeSecret !== undefined &&
    sent !== undefined &&
    forwarded !== undefined &&
    sameSecret(sent, options.edgeSecret)
  ) {
    return forwarded.slice(0, 64);
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  const peer = incoming?.socket?.remoteAddress ?? 'unknown';
  if (options.trustedProxies.length === 0 || !isTrusted(peer, options.trustedProxies)) return peer;
  // Bounded: a header of thousands of hops is a client's invention, not a proxy chain.
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').slice(-32);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (hop === '') continue;
    if (!isTrusted(hop, options.trustedProxies)) return hop.slice(0, 64);
  }
  return peer;
}

/**
 * The key one client's budget is kept under: an IPv4 address as it is, an IPv6 address by its
 * /64 (one subscriber's prefix, which a client can rotate through at will), an IPv4-mapped IPv6
 * address as its IPv4 address. Anything unparseable is kept as given, cut short.
 */
export function clientKey(address: string): string {
  if (!ipaddr.isValid(address)) return `raw:${address.slice(0, 64)}`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((part) => part.toString(16)).join(':')}::/64`;
}

/**
 * Parses `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges.
 *
 * @throws Error naming the entry that is not an address or range.
 */
export function parseTrustedProxies(list: readonly string[]): TrustedProxies {
  return list.map((entry) => {
    try {
      if (entry.includes('/')) return ipaddr.parseCIDR(entry);
      const address = ipaddr.parse(entry);
      return [address, address.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new Error(`'${entry}' is not an IP address or CIDR range`);
    }
  });
}

function isTrusted(address: string, ranges: TrustedProxies): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return ranges.some(
    ([range, bits]) => range.kind() === parsed.kind() && parsed.match([range, bits] as never),
  );
}

/** The budget key of the reader who sent `c`: its address as the configuration lets us know it. */
export function readerKey(
  c: Context,
  config: { EDGE_SHARED_SECRET?: string | undefined; trustedProxies: TrustedProxies },
): string {
  return clientKey(
    clientIp(c, { edgeSecret: config.EDGE_SHARED_SECRET, trustedProxies: config.trustedProxies }),
  );
}

/** Compares secrets in constant time (their digests, so that lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
