import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';

/** What the fetcher may do: every limit has a bound. */
export interface FetchPolicy {
  /** Hosts allowed even though they resolve to private, loopback or link-local addresses. */
  allowHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  userAgent: string;
}

/** A response read whole (within `maxBytes`), after redirects. */
export interface FetchResult {
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A fetch the policy refused (an address, a scheme, too many redirects, too large). */
export class FetchRefused extends Error {
  override name = 'FetchRefused';
}

/** True for addresses a crawler must never reach: anything but public unicast. */
export function isPrivateAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return true;
  return ipaddr.process(address).range() !== 'unicast';
}

/**
 * An HTTP client for pages on other people's servers. The address is checked after DNS
 * resolution (inside the connection, so a second lookup cannot swap it) and again for every
 * redirect hop; no cookies are kept; size and time are bounded.
 */
export class SafeFetcher {
  private readonly agent: Agent;
  private readonly allowed: Set<string>;

  constructor(private readonly policy: FetchPolicy) {
    this.allowed = new Set(policy.allowHosts.map((host) => host.toLowerCase()));
    this.agent = new Agent({
      connect: { lookup: this.lookup, timeout: policy.timeoutMs },
      headersTimeout: policy.timeoutMs,
      bodyTimeout: policy.timeoutMs,
      connections: 8,
    });
  }

  /** GETs `url`, following at most `maxRedirects` redirects; `headers` go to the first origin only. */
  async get(
    url: string,
    options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<FetchResult> {
    let current = new URL(url);
    const firstOrigin = current.origin;
    for (let hop = 0; ; hop++) {
      this.assertAllowedUrl(current);
      // A private header (a token for private docs) never follows a redirect to another origin.
      const headers: Record<string, string> = {
        'user-agent': this.policy.userAgent,
        accept:
          'text/html,application/xhtml+xml,text/markdown,text/plain,application/xml;q=0.9,*/*;q=0.5',
        ...(current.origin === firstOrigin ? options.headers : {}),
      };
      const signal = options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(this.policy.timeoutMs)])
        : AbortSignal.timeout(this.policy.timeoutMs);
      const response = await request(current, {
        method: 'GET',
        headers,
        dispatcher: this.agent,
        signal,
      });
      const location = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        await response.body.dump();
        if (hop >= this.policy.maxRedirects) {
          throw new FetchRefused(`more than ${this.policy.maxRedirects} redirects from ${url}`);
        }
        current = new URL(String(location), current);
        continue;
      }
      const body = await this.readBounded(response.body, current.href);
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      return { status: response.statusCode, url: current.href, headers: flat, body };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async readBounded(body: AsyncIterable<Uint8Array>, url: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const part of body) {
      size += part.byteLength;
      if (size > this.policy.maxBytes) {
        throw new FetchRefused(`${url} is larger than ${this.policy.maxBytes} bytes`);
      }
      parts.push(part);
    }
    // A plain Uint8Array, not a Buffer: some parsers (unpdf) refuse Buffers.
    const whole = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      whole.set(part, at);
      at += part.byteLength;
    }
    return whole;
  }

  private assertAllowedUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new FetchRefused(`${url.href}: only http and https are fetched`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new FetchRefused(`${url.origin}: URLs with credentials are not fetched`);
    }
    // A literal address never goes through DNS, so it is checked here.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && isPrivateAddress(host) && !this.allowed.has(host.toLowerCase())) {
      throw new FetchRefused(`${url.host} is a private address; refused`);
    }
  }

  /** `net.connect`'s lookup: resolves, then refuses private answers for hosts not allowed. */
  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    const family =
      options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : (options.family ?? 0);
    dnsLookup(hostname, { all: true, family }, (error, addresses) => {
      if (error !== null) return callback(error, []);
      const allowed = this.allowed.has(hostname.toLowerCase());
      const bad = addresses.find((a) => isPrivateAddress(a.address));
      if (bad !== undefined && !allowed) {
        return callback(
          Object.assign(new FetchRefused(`${hostname} resolves to a private address; refused`), {
            code: 'EREFUSED_PRIVATE',
          }),
          [],
        );
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
