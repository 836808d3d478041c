import { describe, expect, it } from 'vitest';
import { SITE_CSP, withoutHopByHop, withSecurityHeaders } from './headers.js';

describe('withSecurityHeaders', () => {
  it('gives every response nosniff and a referrer policy, HTML the CSP and no framing', () => {
    const json = withSecurityHeaders(
      new Response('{}', { headers: { 'Content-Type': 'application/json' } }),
    );
    expect(json.headers.get('x-content-type-options')).toBe('nosniff');
    expect(json.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    expect(json.headers.get('content-security-policy')).toBeNull();
    expect(json.headers.get('x-frame-options')).toBeNull();

    const page = withSecurityHeaders(
      new Response('<p>', { headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    );
    expect(page.headers.get('content-security-policy')).toBe(SITE_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it("keeps a stricter policy the origin's own page brings", () => {
    const page = withSecurityHeaders(
      new Response('<p>', {
        headers: { 'Content-Type': 'text/html', 'Content-Security-Policy': "default-src 'none'" },
      }),
    );
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'");
  });
});

describe('withoutHopByHop', () => {
  it('drops the connection-level headers and those Connection names, keeps the rest', () => {
    const out = withoutHopByHop(
      new Headers({
        Connection: 'keep-alive, X-Secret-Hop',
        'Keep-Alive': 'timeout=5',
        'Transfer-Encoding': 'chunked',
        'X-Secret-Hop': '1',
        'Content-Type': 'text/plain',
      }),
    );
    expect([...out.keys()]).toEqual(['content-type']);
  });
});
