import type pg from 'pg';
import {
  buildPostingsIndex,
  estimateIndexBytes,
  type PostingsIndex,
  type TermPostings,
} from './postings-index.js';
import { POSTINGS_PAGE_SQL, SITE_LEXICAL_COUNTERS_SQL } from './sql.js';

/** Terms per page of a load: short statements, so that a load never holds PGlite's one client. */
const TERMS_PER_PAGE = 2_000;

/** What a site's counters say, as read in the search's own statement. */
export interface LexicalState {
  version: number;
  lexicalChunks: number;
  lexicalLength: number;
}

/**
 * Reads a site's postings page by page, each page a short statement of its own. Every write to
 * a site's chunks bumps its `content_version` in the same transaction (`lockSite`), so the same
 * version before the first page and after the last proves that no write committed in between:
 * the pages are one consistent state. Returns null when the version moved (or the site is gone)
 * and 'too_large' as soon as the postings outgrow `maxBytes`.
 */
export async function loadPostingsIndex(
  pool: pg.Pool,
  siteId: number,
  maxBytes: number,
): Promise<PostingsIndex | 'too_large' | null> {
  const before = await counters(pool, siteId);
  if (before === null) return null;
  if (estimateIndexBytes(before.lexicalChunks, 0) > maxBytes) return 'too_large';
  const terms: TermPostings[] = [];
  let postings = 0;
  let last = '';
  for (;;) {
    const { rows } = await pool.query<{ term: string; df: number; ids: string; tfs: string }>(
      POSTINGS_PAGE_SQL,
      [siteId, last, TERMS_PER_PAGE],
    );
    for (const row of rows) {
      const ids = parseIntegers(row.ids, Float64Array);
      const tfs = parseIntegers(row.tfs, Uint16Array);
      terms.push({ term: row.term, df: row.df, chunkIds: ids, tfs });
      postings += ids.length;
    }
    if (estimateIndexBytes(before.lexicalChunks, postings) > maxBytes) return 'too_large';
    if (rows.length < TERMS_PER_PAGE) break;
    last = rows[rows.length - 1]!.term;
  }
  const after = await counters(pool, siteId);
  if (after === null || after.version !== before.version) return null;
  return buildPostingsIndex({ siteId, ...before, terms });
}

async function counters(pool: pg.Pool, siteId: number): Promise<LexicalState | null> {
  const { rows } = await pool.query<{
    version: number;
    lexical_chunks: number;
    lexical_length: number;
  }>(SITE_LEXICAL_COUNTERS_SQL, [siteId]);
  const row = rows[0];
  if (row === undefined) return null;
  return {
    version: row.version,
    lexicalChunks: row.lexical_chunks,
    lexicalLength: row.lexical_length,
  };
}

/** A comma-separated list of integers into a typed array (a tsvector keeps at most 256 positions per lexeme, so tf fits 16 bits). */
function parseIntegers<T extends Float64Array | Uint16Array>(
  text: string,
  kind: { new (length: number): T },
): T {
  const parts = text.split(',');
  const out = new kind(parts.length);
  for (let i = 0; i < parts.length; i += 1) out[i] = Number(parts[i]);
  return out;
}

interface Entry {
  index: PostingsIndex | null;
  /** A version this site was found too large at; not retried until its counters shrink. */
  tooLarge: { lexicalLength: number } | null;
  lastUsed: number;
  /** No reload before this time (ms): a load overtaken by a write waits twice its duration. */
  retryAt: number;
}

/**
 * The in-memory postings of the sites this origin searches, within a memory budget. The
 * database stays the source of truth: `current` hands out an index only for the exact
 * `content_version` the caller read in its own transaction, so an origin that has not seen a
 * write yet never serves a mix; otherwise it starts a reload in the background and the caller
 * ranks in SQL meanwhile. One load runs at a time; least recently used sites make room; a
 * site larger than the whole budget is never held.
 */
export class LexicalIndexes {
  private readonly entries = new Map<number, Entry>();
  private loading: Promise<void> | null = null;
  private clock = 0;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      maxBytes: number;
      onError?: (error: unknown, siteId: number) => void;
    },
  ) {}

  /** The site's index at exactly `state.version`, or null (a load is started when one can be). */
  current(siteId: number, state: LexicalState): PostingsIndex | null {
    if (this.deps.maxBytes <= 0) return null;
    const entry = this.entries.get(siteId);
    if (entry?.index?.version === state.version) {
      entry.lastUsed = ++this.clock;
      return entry.index;
    }
    if (entry?.tooLarge != null && state.lexicalLength >= entry.tooLarge.lexicalLength) return null;
    // While a site is being written to, reloading after every write would read its postings
    // again and again: a reload overtaken by a write waits before the next try.
    if (entry !== undefined && performance.now() < entry.retryAt) return null;
    if (estimateIndexBytes(state.lexicalChunks, 0) > this.deps.maxBytes) return null;
    if (this.loading === null)
      this.loading = this.load(siteId).finally(() => (this.loading = null));
    return null;
  }

  /** Waits for the load in progress, if any (tests and benchmarks). */
  async settled(): Promise<void> {
    while (this.loading !== null) await this.loading;
  }

  /** Bytes held by the loaded indexes. */
  get bytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.index?.bytes ?? 0;
    return total;
  }

  private async load(siteId: number): Promise<void> {
    // The stale version goes first: the budget never holds two versions of a site.
    const entry = this.entries.get(siteId);
    if (entry !== undefined) entry.index = null;
    const started = performance.now();
    try {
      const loaded = await loadPostingsIndex(this.deps.pool, siteId, this.deps.maxBytes);
      if (loaded === null) {
        const now = performance.now();
        this.entries.set(siteId, {
          index: null,
          tooLarge: null,
          lastUsed: entry?.lastUsed ?? ++this.clock,
          retryAt: now + 2 * (now - started),
        });
        return;
      }
      if (loaded === 'too_large') {
        const state = await counters(this.deps.pool, siteId);
        this.entries.set(siteId, {
          index: null,
          tooLarge: { lexicalLength: state?.lexicalLength ?? 0 },
          lastUsed: ++this.clock,
          retryAt: 0,
        });
        return;
      }
      this.entries.set(siteId, {
        index: loaded,
        tooLarge: null,
        lastUsed: ++this.clock,
        retryAt: 0,
      });
      this.evict(siteId);
    } catch (error) {
      this.deps.onError?.(error, siteId);
    }
  }

  /** Drops least recently used indexes (never `keep`) until the budget holds. */
  private evict(keep: number): void {
    const byAge = [...this.entries].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [siteId, entry] of byAge) {
      if (this.bytes <= this.deps.maxBytes) return;
      if (siteId !== keep) this.entries.delete(siteId);
      else if (entry.index !== null && entry.index.bytes > this.deps.maxBytes) {
        this.entries.set(siteId, {
          index: null,
          tooLarge: { lexicalLength: entry.index.lexicalLength },
          lastUsed: entry.lastUsed,
          retryAt: 0,
        });
      }
    }
  }
}
