import { describe, expect, it } from 'vitest';
import { ErrorBody } from '../../contract/errors.js';
import { StreamErrorEvent } from '../../contract/stream.js';
import { audienceOf, fallbackResponse, streamError } from './fallback.js';

const CHAT = 'https://edge.example/api/v1/sites/docs/chat';

describe('audienceOf', () => {
  it('tells a chat stream, a page navigation and an API call apart', () => {
    expect(audienceOf(new Request(CHAT, { method: 'POST' }))).toBe('stream');
    expect(
      audienceOf(
        new Request('https://edge.example/x', { headers: { Accept: 'text/event-stream' } }),
      ),
    ).toBe('stream');
    expect(
      audienceOf(new Request('https://edge.example/', { headers: { Accept: 'text/html' } })),
    ).toBe('browser');
    expect(audienceOf(new Request('https://edge.example/api/v1/sites/docs/search'))).toBe('api');
  });
});

describe('fallbackResponse', () => {
  it('is the contract: an error event in milliseconds, Retry-After in seconds', async () => {
    expect(StreamErrorEvent.parse(streamError('maintenance', 30)).retryAfterMs).toBe(30_000);
    const stream = fallbackResponse(new Request(CHAT, { method: 'POST' }), 'maintenance', 'r1', 30);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('retry-after')).toBe('30');
    expect(await stream.text()).toContain('"retryAfterMs":30000');

    const api = fallbackResponse(
      new Request('https://edge.example/api/v1/sites/docs/search'),
      'origin_unavailable',
      'r2',
      30,
    );
    expect(api.status).toBe(503);
    expect(ErrorBody.parse(await api.json()).error).toMatchObject({
      code: 'origin_unavailable',
      requestId: 'r2',
    });
  });
});
