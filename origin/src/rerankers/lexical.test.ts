import { describe, expect, it } from 'vitest';
import { LexicalReranker, scoreLexically } from './lexical.js';
import { rankByScore } from './rank.js';

const reranker = new LexicalReranker();

function candidates(texts: readonly string[]) {
  return texts.map((text, id) => ({ id, text }));
}

describe('LexicalReranker', () => {
  it('is lexical-v1 and scores the whole list at once', () => {
    expect(reranker.id).toBe('lexical-v1');
    expect(reranker.maxBatchSize).toBe(Number.POSITIVE_INFINITY);
  });

  it('ranks a passage with the query terms, in other inflections, above one without', async () => {
    const scores = await reranker.score(
      'install server',
      candidates([
        'Bread › Baking\n\nKnead the dough and bake it in a hot oven for forty minutes.',
        'Guide › Setup\n\nInstalling servers takes a few minutes with the setup script.',
      ]),
    );
    expect(scores[1]).toBeGreaterThan(scores[0] ?? 0);
    expect(scores[0]).toBe(0);
  });

  it('prefers the query terms together and in order', () => {
    const [together, apart, reversed] = scoreLexically('install the server', [
      'first install the server then rest and wait for the long job',
      'first install the tools then rest and wait for the long server',
      'first the server will install then rest and wait for the job',
    ]);
    expect(together).toBeGreaterThan(apart ?? 0);
    expect(together).toBeGreaterThan(reversed ?? 0);
  });

  it('prefers covering more query terms to repeating one', () => {
    const [both, one] = scoreLexically('install server', [
      'install the server now please',
      'install install install install install',
    ]);
    expect(both).toBeGreaterThan(one ?? 0);
  });

  it('weighs a term rare among the candidates above one they all share', () => {
    const [rare, common] = scoreLexically('postgres backup', [
      'the backup of postgres runs nightly',
      'the backup runs nightly and weekly',
      'a backup is kept for a week',
      'every backup is compressed',
    ]);
    expect(rare).toBeGreaterThan(common ?? 0);
  });

  it('rewards query terms in the context line', () => {
    const body = 'Run the script and wait for the deploy to finish.';
    const [titled, untitled] = scoreLexically('deploy worker', [
      `Edge worker › Deploy\n\n${body}`,
      `Bread › Baking\n\n${body}`,
    ]);
    expect(titled).toBeGreaterThan(untitled ?? 0);
  });

  it('reads words in any script, astral characters included, and splits on symbols', () => {
    const [german, japanese, none] = scoreLexically('Grüße aus MÜNCHEN 𠮷野家', [
      'viele grüße, aus münchen!',
      '𠮷野家🍜で',
      'gruse aus munchen',
    ]);
    expect(german).toBeGreaterThan(0);
    expect(japanese).toBeGreaterThan(0);
    expect(german).toBeGreaterThan(none ?? 0);
  });

  it('is deterministic and keeps the input order between ties', async () => {
    const texts = ['a cat', 'install the server', 'a dog', 'install the server', 'a bird'];
    const scores = await reranker.score('install server', candidates(texts));
    expect(await reranker.score('install server', candidates(texts))).toEqual(scores);
    expect(scores[1]).toBe(scores[3]);
    expect(rankByScore(scores)).toEqual([1, 3, 0, 2, 4]);
  });

  it('handles no candidates, an empty query and a query of function words only', async () => {
    expect(await reranker.score('install server', [])).toEqual([]);
    expect(await reranker.score('', candidates(['a text']))).toEqual([0]);
    expect(await reranker.score('?!', candidates(['a text']))).toEqual([0]);
    const [withWords, without] = await reranker.score(
      'how to do it',
      candidates(['how to do it', 'bake bread']),
    );
    expect(withWords).toBeGreaterThan(without ?? 0);
  });

  it('scores 10,000 passages of 200 words in linear time (about half a second on 2 cores)', () => {
    const vocabulary =
      'install server client update delete create query search index document file page text answer question source model vector token cache memory disk network request response error status code user admin password login session database table column'.split(
        ' ',
      );
    const texts = Array.from({ length: 10_000 }, (_, i) => {
      const words = Array.from({ length: 200 }, (_, j) => vocabulary[(i * 31 + j * 17) % 41]);
      return `Title ${i} › Section\n\n${words.join(' ')}`;
    });
    const start = performance.now();
    const scores = scoreLexically('how to install the database server and update the index', texts);
    const elapsed = performance.now() - start;
    expect(scores).toHaveLength(10_000);
    // About 0.5 s on a quiet 2-core machine; the bound leaves room for a loaded one, and still
    // fails a scorer that compares every passage with every other.
    expect(elapsed).toBeLessThan(3000);
  });
});
