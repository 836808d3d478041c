import type { AnswerSource } from '../answer/types.js';
import type { SearchHit } from '../retrieval/search.js';

/** A source as the `sources` event carries it to readers (see the wire contract). */
export interface ReaderSource {
  n: number;
  documentId: string;
  title: string;
  headingPath: string[];
  snippet: string;
  source: string;
  url: string | null;
}

/** A source the answer may cite: what the generator reads, and what the reader is shown. */
export interface TurnSource extends AnswerSource {
  documentId: string;
  source: string;
}

/** Characters of a source's text shown as its snippet. */
const SNIPPET_CHARS = 300;

/**
 * The sources of an answer, one per document and heading: retrieved chunks of the same section
 * are merged (in rank order of their best chunk), so the reader never sees the same "Title ›
 * Heading" twice and the generator reads the section's retrieved text together.
 */
export function sourcesOf(hits: readonly SearchHit[]): TurnSource[] {
  const merged = new Map<string, TurnSource>();
  for (const hit of hits) {
    const key = JSON.stringify([hit.documentId, hit.headingPath]);
    const existing = merged.get(key);
    if (existing !== undefined) {
      if (!existing.text.includes(hit.text)) existing.text += `\n\n${hit.text}`;
      continue;
    }
    merged.set(key, {
      n: merged.size + 1,
      documentId: String(hit.documentId),
      title: hit.title,
      url: hit.url,
      source: hit.source,
      headingPath: hit.headingPath,
      text: hit.text,
    });
  }
  return [...merged.values()];
}

/** What the `sources` event shows of each source: no full text, a snippet. */
export function readerSources(sources: readonly TurnSource[]): ReaderSource[] {
  return sources.map(({ text, ...source }) => ({ ...source, snippet: snippetOf(text) }));
}

function snippetOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= SNIPPET_CHARS ? flat : `${flat.slice(0, SNIPPET_CHARS - 1).trimEnd()}…`;
}
