import { describe, expect, it } from 'vitest';
import { preflight, READER_ROUTE, readableByPage } from './cors.js';

const PAGE = 'https://blog.example';

describe('the reader routes', () => {
  it('are chat, search, config and feedback of a site, nothing else', () => {
    for (const path of [
      '/api/v1/sites/docs/chat',
      '/api/v1/sites/pk_abc/search',
      '/api/v1/sites/docs/config',
      '/api/v1/sites/docs/messages/12/feedback',
    ]) {
      expect(READER_ROUTE.test(path), path).toBe(true);
    }
    for (const path of [
      '/api/v1/sites/docs',
      '/api/v1/sites/docs/documents',
      '/api/v1/sites/docs/chat/extra',
      '/api/v1/sites/a/b/chat',
    ]) {
      expect(READER_ROUTE.test(path), path).toBe(false);
    }
  });
});

describe('preflight', () => {
  it("reflects the page's origin with the reader headers, never cached by a shared cache", () => {
    const response = preflight(
      new Request('https://edge.example/api/v1/sites/docs/chat', {
        method: 'OPTIONS',
        headers: { Origin: PAGE },
      }),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(response.headers.get('access-control-allow-headers')).toContain('X-Site-Key');
    expect(response.headers.get('access-control-allow-headers')).toContain('Last-Event-ID');
    expect(response.headers.get('vary')).toBe('Origin');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('allows nothing without an Origin', () => {
    const response = preflight(new Request('https://edge.example/api/v1/sites/docs/chat'));
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('readableByPage', () => {
  const request = (path: string) =>
    new Request(`https://edge.example${path}`, { headers: { Origin: PAGE } });

  it("opens the edge's own refusals on a reader route to the page", () => {
    const response = new Response('{}', { status: 429 });
    readableByPage(request('/api/v1/sites/docs/chat'), response);
    expect(response.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(response.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  it("opens the fallback stream, but not an origin's answer or another route", () => {
    const fallback = new Response('', { headers: { 'X-Edge-Fallback': 'maintenance' } });
    readableByPage(request('/api/v1/sites/docs/chat'), fallback);
    expect(fallback.headers.get('access-control-allow-origin')).toBe(PAGE);

    const answer = new Response('');
    readableByPage(request('/api/v1/sites/docs/chat'), answer);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();

    const admin = new Response('', { status: 403 });
    readableByPage(request('/api/v1/sites/docs/documents'), admin);
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps the CORS headers the origin chose', () => {
    const response = new Response('', {
      status: 403,
      headers: { 'Access-Control-Allow-Origin': 'https://other.example' },
    });
    readableByPage(request('/api/v1/sites/docs/chat'), response);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://other.example');
  });
});
