import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Bm25Params, rankLexical } from './bm25.js';
import { buildPostingsIndex, type PostingsIndex } from './postings-index.js';

const IR = fileURLToPath(new URL('../../../../shared/data/ir/', import.meta.url));

/** The `.W` texts of a SMART file (the eval parser lives outside this module). */
function smartTexts(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split(/^\.I /m)
    .slice(1)
    .map((record) => record.split(/^\.W\s*$/m)[1] ?? '')
    .filter((text) => text.trim() !== '');
}

/** A plain tokenizer: scoring does not care where the lexemes come from. */
function lexemes(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/**
 * An index over the texts, each stored `copies` times under consecutive chunk ids: copies score
 * the same to the last bit, so every list is full of exact ties to break by chunk id.
 */
function indexOf(texts: string[], copies: number): PostingsIndex {
  const postings = new Map<string, { ids: number[]; tfs: number[] }>();
  let id = 0;
  let length = 0;
  for (const text of texts) {
    const counts = new Map<string, number>();
    for (const w of lexemes(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    for (let c = 0; c < copies; c += 1) {
      id += 1;
      for (const [w, tf] of counts) {
        const list = postings.get(w) ?? { ids: [], tfs: [] };
        postings.set(w, list);
        list.ids.push(id);
        list.tfs.push(tf);
        length += tf;
      }
    }
  }
  const terms = [...postings]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([term, list]) => ({ term, df: list.ids.length, chunkIds: list.ids, tfs: list.tfs }));
  return buildPostingsIndex({
    siteId: 1,
    version: 1,
    lexicalChunks: id,
    lexicalLength: length,
    terms,
  });
}

const cranfield = smartTexts(`${IR}cranfield/cran.all.1400`);
const medline = smartTexts(`${IR}medline/MED.ALL`);
const questions = [
  ...smartTexts(`${IR}cranfield/cran.qry`),
  ...smartTexts(`${IR}medline/MED.QRY`),
].map((q) => [...new Set(lexemes(q))]);

const DEFAULTS: Bm25Params = {
  k1: 1.2,
  b: 0.75,
  feedbackDocs: 10,
  feedbackTerms: 10,
  originalWeight: 0.7,
};

describe('exact dynamic pruning (MaxScore) of the in-memory BM25', () => {
  const index = indexOf([...cranfield, ...medline], 2);

  it.each([
    ['feedback, depth 50', DEFAULTS, 50],
    ['feedback, depth 10', DEFAULTS, 10],
    ['no feedback, depth 50', { ...DEFAULTS, feedbackDocs: 0, originalWeight: 1 }, 50],
    ['no feedback, depth 1', { ...DEFAULTS, feedbackDocs: 0, originalWeight: 1 }, 1],
    [
      'other k1, b and weights',
      { k1: 2, b: 0.3, feedbackDocs: 5, feedbackTerms: 20, originalWeight: 0.5 },
      100,
    ],
    ['feedback terms weighted zero', { ...DEFAULTS, originalWeight: 1 }, 50],
  ])('returns the exhaustive top k, scores and ties included (%s)', (_, params, depth) => {
    let ties = 0;
    for (const terms of questions) {
      const pruned = rankLexical(index, terms, params, depth, 'pruned');
      const exhaustive = rankLexical(index, terms, params, depth, 'exhaustive');
      expect(pruned.map((h) => h.id)).toEqual(exhaustive.map((h) => h.id));
      for (const [i, hit] of pruned.entries()) {
        expect(Math.abs(hit.score - exhaustive[i]!.score)).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(exhaustive[i]!.score)),
        );
      }
      // Ties counted one place past the cut too: a tie there is decided by chunk id alone.
      const wider = rankLexical(index, terms, params, depth + 1, 'exhaustive');
      for (let i = 1; i < wider.length; i += 1)
        if (wider[i - 1]!.score === wider[i]!.score) ties += 1;
    }
    // The copies make ties the common case: the tie order is really exercised.
    expect(ties).toBeGreaterThanOrEqual(questions.length);
  });

  it('breaks a tie at the k-th place by chunk id, as the exhaustive list does', () => {
    // Forty identical chunks and a few better ones: the cut falls inside the tie.
    const tied = indexOf(['wing flutter', 'wing flutter wing', 'flutter of a wing'], 1);
    const many = indexOf([...Array(40).fill('wing flutter'), 'wing wing flutter flutter'], 1);
    for (const idx of [tied, many]) {
      for (const depth of [1, 2, 5, 17, 40, 60]) {
        const params = { ...DEFAULTS, feedbackDocs: 0, originalWeight: 1 };
        expect(rankLexical(idx, ['wing', 'flutter'], params, depth, 'pruned')).toEqual(
          rankLexical(idx, ['wing', 'flutter'], params, depth, 'exhaustive'),
        );
      }
    }
  });

  it('ranks terms absent from the site as nothing and an empty query as an empty list', () => {
    expect(rankLexical(index, [], DEFAULTS, 10)).toEqual([]);
    expect(rankLexical(index, ['zzzqqq'], DEFAULTS, 10)).toEqual([]);
    expect(rankLexical(index, ['zzzqqq', 'flutter'], DEFAULTS, 10)).toEqual(
      rankLexical(index, ['zzzqqq', 'flutter'], DEFAULTS, 10, 'exhaustive'),
    );
  });
});
