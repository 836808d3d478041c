import { describe, expect, it } from 'vitest';
import { LinkFilter } from './links.js';

const ALLOWED = ['https://docs.example.com/guide'];
const TEXT =
  'See [the guide](https://docs.example.com/guide) [1], not [the official portal](https://phish.example/login "Log in") [2] or <https://phish.example/x>, and \\[escaped](https://phish.example).';

function run(deltas: string[]): string {
  const filter = new LinkFilter(ALLOWED);
  return deltas.map((d) => filter.push(d)).join('') + filter.end();
}

describe('LinkFilter', () => {
  it("keeps links to a source's URL and turns every other link into its text", () => {
    expect(run([TEXT])).toBe(
      'See [the guide](https://docs.example.com/guide) [1], not the official portal [2] or https://phish.example/x, and \\[escaped](https://phish.example).',
    );
  });

  it('gives the same text however the stream is split', () => {
    const whole = run([TEXT]);
    for (const size of [1, 2, 3, 7, 13]) {
      const deltas = TEXT.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g'))!;
      expect(run(deltas)).toBe(whole);
    }
  });

  it('does not hold back text that cannot become a link', () => {
    const filter = new LinkFilter(ALLOWED);
    expect(filter.push('Plain words [1] and more')).toBe('Plain words [1] and more');
    expect(filter.push(' then [2]')).toBe(' then ');
    expect(filter.push('.')).toBe('[2].');
  });
});
