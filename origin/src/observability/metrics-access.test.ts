import { describe, expect, it } from 'vitest';
import { decideMetricsAccess, isLoopback, type MetricsRequest } from './metrics-access.js';

const TOKEN = 'metrics-test-token-0123456789abcdef';

function decide(request: Partial<MetricsRequest>) {
  return decideMetricsAccess(
    { authorization: undefined, peer: undefined, headerNames: [], ...request },
    TOKEN,
  );
}

describe('who may read /metrics', () => {
  it('lets a direct loopback caller in without a token', () => {
    for (const peer of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])
      expect(decide({ peer })).toEqual({ allowed: true, by: 'loopback' });
  });

  it('refuses a remote caller without a token with 401', () => {
    for (const peer of ['10.0.0.5', '172.18.0.3', '::ffff:10.0.0.5', '2001:db8::1', undefined])
      expect(decide({ peer })).toMatchObject({ allowed: false, code: 'unauthorized' });
  });

  it('lets the admin token in from anywhere', () => {
    expect(decide({ peer: '203.0.113.9', authorization: `Bearer ${TOKEN}` })).toEqual({
      allowed: true,
      by: 'token',
    });
    expect(
      decide({
        peer: '127.0.0.1',
        authorization: `bearer ${TOKEN}`,
        headerNames: ['x-edge-secret'],
      }),
    ).toEqual({ allowed: true, by: 'token' });
  });

  it('refuses a wrong token with 403, even from loopback', () => {
    for (const authorization of [`Bearer ${TOKEN}x`, 'Bearer nope', TOKEN, 'Basic abc'])
      expect(decide({ peer: '127.0.0.1', authorization })).toMatchObject({
        allowed: false,
        code: 'forbidden',
      });
  });

  it('refuses a loopback peer that came through the edge or a proxy', () => {
    for (const header of [
      'x-edge-secret',
      'x-forwarded-for',
      'x-real-ip',
      'forwarded',
      'x-client-ip',
    ])
      expect(decide({ peer: '127.0.0.1', headerNames: ['accept', header] })).toMatchObject({
        allowed: false,
        code: 'forbidden',
      });
  });

  it('refuses a loopback caller under a host name that is not this origin (DNS rebinding)', () => {
    expect(decide({ peer: '127.0.0.1', hostAllowed: false })).toMatchObject({
      allowed: false,
      code: 'forbidden',
    });
    expect(decide({ peer: '127.0.0.1', hostAllowed: true })).toEqual({
      allowed: true,
      by: 'loopback',
    });
    // The admin token is its own proof, whatever the host name.
    expect(
      decide({ peer: '127.0.0.1', hostAllowed: false, authorization: `Bearer ${TOKEN}` }),
    ).toEqual({ allowed: true, by: 'token' });
  });

  it('never takes a forwarded address for the peer', () => {
    // A remote caller claiming to be local in a header gains nothing.
    expect(decide({ peer: '198.51.100.7', headerNames: ['x-forwarded-for'] })).toMatchObject({
      allowed: false,
    });
  });

  it('recognizes loopback addresses only', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('::FFFF:127.0.0.2')).toBe(true);
    for (const address of [
      '128.0.0.1',
      '127.0.0.1.evil',
      '::2',
      '0.0.0.0',
      'localhost',
      '1127.0.0.1',
    ])
      expect(isLoopback(address)).toBe(false);
  });
});
