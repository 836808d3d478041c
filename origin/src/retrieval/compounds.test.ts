import { describe, expect, it } from 'vitest';
import { joinsOf, withCompounds } from './compounds.js';

describe('joinsOf', () => {
  it('joins consecutive words, and content words across function words, of two letters or more', () => {
    expect(joinsOf('How do I set a cookie?')).toEqual(['howdo', 'setcookie']);
    expect(joinsOf('delete the cookie')).toEqual(['deletethe', 'thecookie', 'deletecookie']);
  });

  it('skips numbers and one-letter words, and is bounded', () => {
    expect(joinsOf('port 8080 x y')).toEqual([]);
    expect(
      joinsOf(Array.from({ length: 100 }, (_, i) => `word${'a'.repeat(i % 5)}b`).join(' ')).length,
    ).toBeLessThanOrEqual(24);
  });

  it('appends the joins the site holds, by their lexemes in order', () => {
    const held = new Set(['setcooki']);
    expect(
      withCompounds('set a cookie', ['howdo', 'setcookie'], ['howdo', 'setcooki'], (l) =>
        held.has(l),
      ),
    ).toBe('set a cookie setcookie');
    expect(withCompounds('q', ['ab'], [''], () => true)).toBe('q');
  });
});
