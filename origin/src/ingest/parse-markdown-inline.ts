/** Backslash escapes of ASCII punctuation, hidden from the patterns below while they run. */
const ESCAPE = /\\([!-/:-@[-`{-~])/g;
/** The escaped characters are parked in the Private Use Area at this offset. */
const PARKED = 0xe000;
/*
 * Every span pattern below is bounded: an unclosed marker repeated through a huge paragraph
 * (`*a *a *a ...`) would otherwise make each start scan to the end, quadratic in the paragraph.
 * Longer spans are left as written, which costs a few symbols in the search text at worst.
 */
const CODE_SPAN = /(`+)(?!`)([\s\S]{0,1000}?[^`])\1(?!`)/g;
/** A link destination: no spaces, one level of balanced parentheses (Wikipedia), a title. */
const DEST = String.raw`\((?:[^()\s]|\([^()\s]*\)){0,2000}(?:\s+(?:"[^"\n]{0,300}"|'[^'\n]{0,300}'))?\)`;
const LABEL = String.raw`[^\]\n]{0,300}`;

/**
 * Pattern → replacement, applied in order; each keeps the words and drops the syntax. A third
 * item is text the pattern cannot match without: when it is absent the rule is skipped, which
 * spares a paragraph of `[[[[…` the bounded label scan at every bracket (seconds per 200 kB).
 */
const RULES: ReadonlyArray<readonly [RegExp, string, string?]> = [
  [new RegExp(String.raw`!\[(${LABEL})\]${DEST}`, 'g'), '$1', ']('], // image → alt text
  [new RegExp(String.raw`!\[(${LABEL})\]\[${LABEL}\]`, 'g'), '$1', ']['], // reference image
  [/\[\^[^\]\s]{1,100}\]/g, '', '[^'], // footnote reference
  [new RegExp(String.raw`\[(${LABEL})\]${DEST}`, 'g'), '$1', ']('], // link → its text
  [new RegExp(String.raw`\[(${LABEL})\]\[${LABEL}\]`, 'g'), '$1', ']['], // reference link
  [/<((?:https?|mailto|ftp):[^<>\s]+)>/gi, '$1'], // autolink → the address
  [/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, ''], // inline HTML tags
  [/(\*\*|__)(?=\S)([\s\S]{0,300}?\S)\1/g, '$2'],
  [/\*(?=[^\s*])([\s\S]{0,300}?[^\s*])\*/g, '$1'],
  // Underscores only at word edges, so that snake_case identifiers survive.
  [/(?<![\p{L}\p{N}_])_(?=\S)([\s\S]{0,300}?\S)_(?![\p{L}\p{N}_])/gu, '$1'],
  [/~~(?=\S)([\s\S]{0,300}?\S)~~/g, '$1'],
];

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

/**
 * Strips the inline Markdown syntax that only adds noise to search text (emphasis, links,
 * images, code-span backticks, inline HTML) and keeps the words. Backslash escapes and code span
 * contents are protected from the rules, then restored literally.
 */
export function cleanInline(markdown: string): string {
  const spans: string[] = [];
  let text = stripComments(markdown)
    .replace(ESCAPE, (_, c: string) => String.fromCharCode(PARKED + c.charCodeAt(0)))
    .replace(CODE_SPAN, (_, _ticks: string, code: string) => {
      spans.push(code.replace(/\s+/g, ' ').trim());
      return `\uE100${spans.length - 1}\uE101`;
    });
  for (const [pattern, replacement, needs] of RULES) {
    if (needs === undefined || text.includes(needs)) text = text.replace(pattern, replacement);
  }
  // Entities are decoded before the code spans come back: inside code they are literal text.
  return decodeEntities(text)
    .replace(/\uE100(\d+)\uE101/g, (_, i: string) => spans[Number(i)] ?? '')
    .replace(/[\uE000-\uE07F]/g, (c) => String.fromCharCode(c.charCodeAt(0) - PARKED))
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}

/** Drops `<!-- ... -->` comments; indexOf keeps it linear where a lazy regex would not be. */
function stripComments(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const start = text.indexOf('<!--', at);
    const end = start < 0 ? -1 : text.indexOf('-->', start + 4);
    if (end < 0) return out + text.slice(at);
    out += text.slice(at, start);
    at = end + 3;
  }
}

/** Decodes the entities people actually type in Markdown; unknown ones are left as written. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? whole;
    const code =
      name[1] === 'x' || name[1] === 'X'
        ? Number.parseInt(name.slice(2), 16)
        : Number(name.slice(1));
    // U+0000 and surrogates are refused by the store and by String.fromCodePoint respectively.
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
      ? String.fromCodePoint(code)
      : whole;
  });
}
