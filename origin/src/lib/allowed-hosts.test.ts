import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { hostAllowed } from './allowed-hosts.js';

describe('hostAllowed', () => {
  const allowed = loadConfig({ PUBLIC_ORIGINS: 'https://chat.example.com' }).allowedHosts;

  it('by default allows the loopback names and the public origins, on any port', () => {
    for (const host of ['localhost:8000', '127.0.0.1:8000', '[::1]:8000', 'chat.example.com']) {
      expect(hostAllowed(host, allowed), host).toBe(true);
    }
  });

  it('refuses a name rebound to this address, and a missing host', () => {
    for (const host of ['attacker.example:8000', 'localhost.attacker.example', '', undefined]) {
      expect(hostAllowed(host, allowed), String(host)).toBe(false);
    }
  });

  it('takes ALLOWED_HOSTS as set, host:port entries included, and * for any', () => {
    const set = loadConfig({ ALLOWED_HOSTS: 'Docs.Example.com, box:8080' }).allowedHosts;
    expect(hostAllowed('docs.example.com:443', set)).toBe(true);
    expect(hostAllowed('box:8080', set)).toBe(true);
    expect(hostAllowed('box:9090', set)).toBe(false);
    expect(hostAllowed('localhost:8000', set)).toBe(false);
    expect(hostAllowed('anything', ['*'])).toBe(true);
  });
});
