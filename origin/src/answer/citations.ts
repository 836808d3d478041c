/**
 * Drops citations of sources that do not exist from a streamed answer. A model shown five sources
 * may still write `[7]`; the reader must never see a citation that leads nowhere.
 *
 * A marker is `[n]` or `[n, m, …]` (at most four numbers of at most three digits, so `[2024]`
 * stays text); up to three adjacent markers (`[n][m]`) with up to three spaces before them form
 * one run. Numbers outside 1..count are removed from their marker, a marker left empty is
 * removed, and a run left empty goes with the spaces before it, so `fact [7].` reads `fact.` and
 * `fact [7][2].` reads `fact [2].`. The output for a text does not depend on how it was split
 * into deltas: `push` holds back only a tail that could still grow into a run (at most
 * `MAX_HELD_CHARS` characters, three spaces in running prose) and rewrites the rest.
 */

const MARKER = /(?<!\\)\[ ?(\d{1,3}(?: ?, ?\d{1,3}){0,3}) ?\]/g;
const RUN = new RegExp(` {0,3}(?:${MARKER.source}){1,3}`, 'g');
/** The longest run without its spaces: three markers of `[ 123, 123, 123, 123 ]`. */
const MAX_RUN_CHARS = 3 * (2 + 1 + 3 + 3 * 6 + 1);
/** A tail that may be the start of a run: every prefix of a `RUN` match fits it. */
const PARTIAL_RUN = new RegExp(` {0,3}(?:\\[[\\d ,[\\]]{0,${MAX_RUN_CHARS - 1}})?$`);

/** The most characters `push` holds back. */
export const MAX_HELD_CHARS = 3 + MAX_RUN_CHARS;

export class CitationFilter {
  readonly #count: number;
  readonly #cited = new Set<number>();
  #held = '';

  /** `count`: the number of sources; valid citations are 1..count. */
  constructor(count: number) {
    this.#count = count;
  }

  /** Feeds one delta; returns the text that is now safe to emit (may be empty). */
  push(delta: string): string {
    const text = this.#held + delta;
    const hold = text.search(PARTIAL_RUN);
    const cut = hold === -1 ? text.length : hold;
    this.#held = text.slice(cut);
    return this.#rewrite(text.slice(0, cut));
  }

  /** Ends the stream; returns the text still held back. */
  end(): string {
    const rest = this.#held;
    this.#held = '';
    return this.#rewrite(rest);
  }

  /** The valid source numbers cited so far, in order of first use. */
  cited(): number[] {
    return [...this.#cited];
  }

  #rewrite(text: string): string {
    return text.replace(RUN, (run) => {
      const kept = [...run.matchAll(MARKER)]
        .map((marker) => this.#valid(marker[1] ?? ''))
        .filter((numbers) => numbers.length > 0);
      if (kept.length === 0) return '';
      const spaces = run.slice(0, run.indexOf('['));
      return spaces + kept.map((numbers) => `[${numbers.join(', ')}]`).join('');
    });
  }

  /** The numbers of a marker's inner text that name a source, noted as cited. */
  #valid(inner: string): number[] {
    const numbers = inner
      .split(',')
      .map((part) => Number.parseInt(part, 10))
      .filter((n) => n >= 1 && n <= this.#count);
    for (const n of numbers) this.#cited.add(n);
    return numbers;
  }
}
