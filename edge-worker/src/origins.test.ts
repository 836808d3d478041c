import { describe, expect, it } from 'vitest';
import { isGatewayFailure, originOrder } from './origins.js';

describe('isGatewayFailure', () => {
  it("is a 502, 503, 504 or Cloudflare's 52x, never the origin's own answer", () => {
    for (const status of [502, 503, 504, 520, 522, 527])
      expect(isGatewayFailure(status)).toBe(true);
    for (const status of [200, 400, 404, 429, 500, 501, 528]) {
      expect(isGatewayFailure(status)).toBe(false);
    }
  });
});

describe('originOrder', () => {
  it('takes turns among the origins, each once per order', () => {
    const origins = ['https://a.example', 'https://b.example', 'https://c.example'].map(
      (url) => new URL(url),
    );
    const firsts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const order = originOrder(origins);
      expect(new Set(order.map((url) => url.href)).size).toBe(3);
      firsts.add(order[0]!.href);
    }
    expect(firsts.size).toBe(3);
  });
});
