/**
 * Keeps only the links of an answer that lead to one of its sources. A model can be talked into
 * writing `[the official guide](https://phish.example)` by a document it read; the reader must
 * not be shown that as a link from the product. A Markdown link or autolink whose address is not
 * a source's URL is rewritten as its plain text; escaped brackets (`\[`) are text already.
 *
 * Streamed like `CitationFilter`: `push` holds back only a tail that could still become a link
 * (from an unescaped `[` or `<`, at most `MAX_LINK_CHARS` characters) and rewrites the rest, so
 * the output does not depend on how the text was split into deltas.
 */

const LINK =
  /(?<!\\)\[([^\][\n]{0,300})\]\(\s*<?([^\s()<>]{1,2048})>?(?:\s+(?:"[^"\n]{0,300}"|'[^'\n]{0,300}'))?\s*\)/g;
const AUTOLINK = /<((?:https?|mailto|ftp):[^<>\s]{1,2048})>/gi;
/** The longest link held back while it may still be completing. */
export const MAX_LINK_CHARS = 300 + 2048 + 320;

export class LinkFilter {
  readonly #allowed: ReadonlySet<string>;
  #held = '';

  /** `allowed`: the URLs of the answer's sources, the only addresses a link may keep. */
  constructor(allowed: Iterable<string>) {
    this.#allowed = new Set(allowed);
  }

  /** Feeds one delta; returns the text that is now safe to emit (may be empty). */
  push(delta: string): string {
    const text = this.#held + delta;
    const hold = openTail(text);
    this.#held = text.slice(hold);
    return this.#rewrite(text.slice(0, hold));
  }

  /** Ends the stream; returns the text still held back, rewritten. */
  end(): string {
    const rest = this.#held;
    this.#held = '';
    return this.#rewrite(rest);
  }

  #rewrite(text: string): string {
    return text
      .replace(LINK, (whole, label: string, url: string) =>
        this.#allowed.has(url) ? whole : label,
      )
      .replace(AUTOLINK, (whole, url: string) => (this.#allowed.has(url) ? whole : url));
  }
}

/** Where a tail that may still grow into a link starts; `text.length` when there is none. */
function openTail(text: string): number {
  // A trailing backslash may escape the next delta's bracket: it is held with what follows.
  const end = text.endsWith('\\') ? text.length - 1 : text.length;
  const from = Math.max(0, end - MAX_LINK_CHARS);
  for (let i = end - 1; i >= from; i--) {
    const c = text[i];
    if ((c !== '[' && c !== '<') || text[i - 1] === '\\') continue;
    const tail = text.slice(i, end);
    if (c === '<') return /^<[^<>\s]*$/.test(tail) ? i : end;
    // `[label` still open, `[label]` that may be followed by `(`, or `[label](url` not closed.
    if (/^\[[^\]\n]*\]?$/.test(tail) || /^\[[^\]\n]*\]\([^)\n]*$/.test(tail)) return i;
    return end;
  }
  return end;
}
