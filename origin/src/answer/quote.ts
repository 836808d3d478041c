/**
 * Quoted document text must not speak for the product: a `[1]` in a page would read as the
 * answer's own citation, and a Markdown link would be shown as if the answer recommended it.
 * Both are neutralised with Markdown backslash escapes, which the citation filter and Markdown
 * renderers read as literal brackets.
 */

/** `[` and `]` escaped wherever they could open a citation marker or a link label. */
export function neutralizeQuote(text: string): string {
  return text.replace(/(?<!\\)\[/g, '\\[').replace(/(?<!\\)\]/g, '\\]');
}

/**
 * The same for text quoted inside a fenced code block, where a renderer shows backslashes
 * literally: only `[` followed by what could be a marker (`[1]`, `[1, 2]`) is escaped, so
 * ordinary code (`items[i]`, `['a', 'b']`) stays as written.
 */
export function neutralizeCode(text: string): string {
  return text.replace(/\[(?= ?\d{1,3}(?: ?, ?\d{1,3}){0,3} ?\])/g, '\\[').replace(/```/g, '`‵`');
}
