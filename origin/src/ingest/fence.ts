/**
 * Code blocks are stored in chunks as Markdown fences with their language, so that what reads a
 * chunk (the extractive answer, an LLM, a renderer) knows exactly which lines are code and which
 * are prose, instead of guessing from how the lines look.
 */

/** A language tag as an info string may carry it (`ts`, `c++`, `shell-session`), else none. */
const LANGUAGE = /^[\w+#.-]{1,20}$/;

/** The language named by a fence's info string (its first word: `ts [Deno]` gives `ts`). */
export function languageOf(info: string | null | undefined): string | undefined {
  const word = (info ?? '').trim().split(/[\s{[]/)[0] ?? '';
  return LANGUAGE.test(word) ? word.toLowerCase() : undefined;
}

/**
 * The opening and closing lines for `code`: a backtick run longer than any run inside the code,
 * so that the code cannot close it.
 */
export function fenceLines(
  code: string,
  lang: string | undefined,
): { open: string; close: string } {
  const longest = Math.max(2, ...(code.match(/`{3,}/g) ?? []).map((run) => run.length));
  const marker = '`'.repeat(longest + 1);
  return { open: `${marker}${lang ?? ''}`, close: marker };
}

/** `code` inside a fence that names its language. */
export function fenced(code: string, lang: string | undefined): string {
  const { open, close } = fenceLines(code, lang);
  return `${open}\n${code}\n${close}`;
}
