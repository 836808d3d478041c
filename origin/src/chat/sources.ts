import type { AnswerSource } from '../answer/types.js';
import type { SearchHit } from '../retrieval/search.js';
import { documentChunks, type SectionChunk, sectionChunks } from '../store/sections.js';

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

/** A section longer than this is read as retrieved, not whole. */
const MAX_SECTION_CHARS = 6_000;
/** Chunks of a section repeat at most this much of the previous chunk's end (the overlap). */
const MAX_OVERLAP_CHARS = 1_500;

/**
 * The sources with each one's whole section as its text (every chunk of that document under that
 * heading, in order, the chunks' overlaps said once), when the section is short enough: the
 * passage that answers is often next to the one that matched the question (the value in the
 * code block after the sentence that names it), and a retrieved chunk may hold only one of them.
 * A section too long to read whole keeps the retrieved text.
 */
export async function withSections(
  pool: Parameters<typeof sectionChunks>[0],
  sources: readonly TurnSource[],
): Promise<TurnSource[]> {
  const chunks = await sectionChunks(
    pool,
    sources.map((s) => ({ documentId: Number(s.documentId), headingPath: s.headingPath })),
  );
  const bySection = new Map<string, SectionChunk[]>();
  for (const chunk of chunks) {
    const key = JSON.stringify([String(chunk.documentId), chunk.headingPath]);
    bySection.set(key, [...(bySection.get(key) ?? []), chunk]);
  }
  return sources.map((source) => {
    const section = bySection.get(JSON.stringify([source.documentId, source.headingPath]));
    if (section === undefined) return source;
    const text = section.map((c) => c.content).reduce(joinOverlapping);
    return text.length > MAX_SECTION_CHARS || text.length <= source.text.length
      ? source
      : { ...source, text };
  });
}

/** A section read around the retrieved ones ranks as the third retrieved source would. */
export const READ_AROUND_RANK = 2;

/**
 * The sources, then every other section of the first source's document when the whole document
 * holds at most `maxChars` characters: each section once, in document order, ranked
 * {@link READ_AROUND_RANK}. An options reference or a short guide is read whole, so the default
 * that sits under its own heading is there to quote even when retrieval returned its neighbour.
 */
export async function withDocument(
  pool: Parameters<typeof documentChunks>[0],
  sources: readonly TurnSource[],
  maxChars: number,
): Promise<TurnSource[]> {
  const top = sources[0];
  if (top === undefined || maxChars <= 0) return [...sources];
  const chunks = await documentChunks(pool, Number(top.documentId));
  if (chunks === null || chunks.reduce((sum, c) => sum + c.content.length, 0) > maxChars)
    return [...sources];
  const present = new Set(
    sources
      .filter((s) => s.documentId === top.documentId)
      .map((s) => JSON.stringify(s.headingPath)),
  );
  const sections = new Map<string, SectionChunk[]>();
  for (const chunk of chunks) {
    const key = JSON.stringify(chunk.headingPath);
    if (!present.has(key)) sections.set(key, [...(sections.get(key) ?? []), chunk]);
  }
  const around = [...sections.values()].map((section, i) => ({
    n: sources.length + i + 1,
    documentId: top.documentId,
    title: top.title,
    url: top.url,
    source: top.source,
    headingPath: section[0]!.headingPath,
    text: section.map((c) => c.content).reduce(joinOverlapping),
    rank: READ_AROUND_RANK,
  }));
  return [...sources, ...around];
}

/** `b` after `a`, without the start of `b` that repeats the end of `a`. */
function joinOverlapping(a: string, b: string): string {
  const end = a.trimEnd();
  let cut = 0;
  for (let j = 1; j <= Math.min(b.length, MAX_OVERLAP_CHARS); j++) {
    if (j < b.length && !/\s/.test(b[j]!)) continue;
    const head = b.slice(0, j).trim();
    if (head !== '' && end.endsWith(head)) cut = j;
  }
  return `${end}\n\n${b.slice(cut).trimStart()}`;
}

/** What the `sources` event shows of each source: no full text, a snippet. */
export function readerSources(sources: readonly TurnSource[]): ReaderSource[] {
  return sources.map(({ text, ...source }) => ({ ...source, snippet: snippetOf(text) }));
}

/** A fence line of stored code (```ts): structure for a renderer, noise in a one-line snippet. */
const FENCE_LINE = /^ {0,3}(?:`{3,}|~{3,})[^\n`]*$/gm;

function snippetOf(text: string): string {
  const flat = text.replace(FENCE_LINE, '').replace(/\s+/g, ' ').trim();
  return flat.length <= SNIPPET_CHARS ? flat : `${flat.slice(0, SNIPPET_CHARS - 1).trimEnd()}…`;
}
