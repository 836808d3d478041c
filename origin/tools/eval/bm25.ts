import { SMART_STOPWORDS } from '../../src/retrieval/stopwords.js';
import type { CollectionDocument } from './collection.js';

/** BM25 parameters; the defaults are the usual k1 = 1.2, b = 0.75. */
export interface Bm25Options {
  k1?: number;
  b?: number;
}

/** A scored document. */
export interface Bm25Hit {
  id: string;
  score: number;
}

/**
 * The reference tokenizer: lowercase, split on anything that is not a letter or a digit, SMART
 * stop words dropped, no stemming.
 */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((token) => token !== '' && !SMART_STOPWORDS.has(token));
}

/**
 * A plain in-memory BM25 over title + text, independent of the database: the yardstick the
 * product's rankings are compared with. IDF is Lucene's `ln(1 + (N − df + 0.5) / (df + 0.5))`,
 * which stays positive; a query term repeated counts once per occurrence.
 */
export class Bm25Index {
  private readonly ids: string[] = [];
  private readonly lengths: number[] = [];
  private readonly postings = new Map<string, Array<[doc: number, tf: number]>>();
  private readonly k1: number;
  private readonly b: number;
  private averageLength = 0;

  constructor(documents: readonly CollectionDocument[], options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    for (const document of documents) this.add(document);
    const total = this.lengths.reduce((sum, length) => sum + length, 0);
    this.averageLength = this.ids.length === 0 ? 0 : total / this.ids.length;
  }

  /** The k best documents for `query`, best first; ties keep collection order. */
  search(query: string, k: number): Bm25Hit[] {
    const scores = new Float64Array(this.ids.length);
    const n = this.ids.length;
    for (const term of tokenize(query)) {
      const postings = this.postings.get(term);
      if (postings === undefined) continue;
      const idf = Math.log(1 + (n - postings.length + 0.5) / (postings.length + 0.5));
      for (const [doc, tf] of postings) {
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[doc]!) / this.averageLength);
        scores[doc]! += (idf * tf * (this.k1 + 1)) / (tf + norm);
      }
    }
    const hits: Array<{ doc: number; score: number }> = [];
    scores.forEach((score, doc) => {
      if (score > 0) hits.push({ doc, score });
    });
    hits.sort((a, b) => b.score - a.score || a.doc - b.doc);
    return hits.slice(0, k).map(({ doc, score }) => ({ id: this.ids[doc]!, score }));
  }

  private add(document: CollectionDocument): void {
    const doc = this.ids.length;
    const tokens = tokenize(`${document.title}\n${document.text}`);
    this.ids.push(document.id);
    this.lengths.push(tokens.length);
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    for (const [term, tf] of counts) {
      let list = this.postings.get(term);
      if (list === undefined) {
        list = [];
        this.postings.set(term, list);
      }
      list.push([doc, tf]);
    }
  }
}
