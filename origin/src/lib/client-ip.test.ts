import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { clientKey, parseTrustedProxies } from './client-ip.js';

describe('clientKey', () => {
  it('keys an IPv6 client by its /64, whatever the rest of the address', () => {
    const keys = new Set(
      ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:fffe', '2001:0db8:0001:0002:a:b:c:d'].map(
        clientKey,
      ),
    );
    expect([...keys]).toEqual(['2001:db8:1:2::/64']);
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
  });

  it('keeps IPv4 addresses whole, and keys an IPv4-mapped address as its IPv4 address', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('203.0.113.8')).not.toBe(clientKey('203.0.113.7'));
  });

  it('keeps an unparseable value apart from every address, and cut short', () => {
    expect(clientKey('not-an-address')).toBe('raw:not-an-address');
    expect(clientKey('x'.repeat(500)).length).toBeLessThanOrEqual(68);
  });
});

describe('TRUSTED_PROXIES and the production boot', () => {
  it('parses addresses and ranges, and names an entry that is neither', () => {
    expect(parseTrustedProxies(['127.0.0.1', '10.0.0.0/8', '::1'])).toHaveLength(3);
    expect(() => parseTrustedProxies(['nginx'])).toThrow(/'nginx' is not an IP address/);
  });

  const production = { NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(32) };

  it('refuses production without the edge secret or trusted proxies, saying what to set', () => {
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(
      /TRUSTED_PROXIES: is required in production without EDGE_SHARED_SECRET.*share its address/,
    );
    expect(() => loadConfig({ ...production, TRUSTED_PROXIES: '127.0.0.1, nope' })).toThrow(
      /TRUSTED_PROXIES: 'nope' is not an IP address/,
    );
  });

  it('boots production with the edge secret, with trusted proxies, or with readers told to connect directly', () => {
    expect(loadConfig({ ...production, EDGE_SHARED_SECRET: 's'.repeat(32) }).NODE_ENV).toBe(
      'production',
    );
    expect(loadConfig({ ...production, TRUSTED_PROXIES: '127.0.0.1' }).trustedProxies).toHaveLength(
      1,
    );
    expect(loadConfig({ ...production, TRUSTED_PROXIES: 'none' }).trustedProxies).toEqual([]);
  });
});
