/**
 * Ideographic and kana characters: BERT-style pre-tokenizers split these into one token each.
 * Listed before `\p{L}+` so that a run of them is not counted as one long word.
 */
const CJK = String.raw`\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}`;
const TOKEN_PATTERN = new RegExp(
  String.raw`${CJK}|\p{L}[\p{L}\p{M}]*|\p{N}+|[^\p{L}\p{N}\s]`,
  'gu',
);

/** Words up to this many characters are taken as one subword token. */
const WHOLE_WORD_CHARS = 8;
/** Beyond that, a word costs about one more token per this many characters. */
const CHARS_PER_EXTRA_TOKEN = 4;

/**
 * A deterministic approximation of how many tokens a WordPiece-style subword tokenizer (the one
 * the embedding model uses) produces for `text`, without loading its vocabulary: every letter
 * run, digit run, CJK character and punctuation symbol counts one, and long words count about one
 * more per 4 characters beyond 8. It slightly overcounts common English, which keeps chunks safely
 * under the model's limit.
 */
export function countTokens(text: string): number {
  let count = 0;
  for (const match of text.matchAll(TOKEN_PATTERN)) {
    const length = match[0].length;
    count += 1;
    if (length > WHOLE_WORD_CHARS) {
      count += Math.ceil((length - WHOLE_WORD_CHARS) / CHARS_PER_EXTRA_TOKEN);
    }
  }
  return count;
}

/** Words that end with a period without ending a sentence (lowercase, without the period). */
// biome-ignore format: a word list reads best packed
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'cf', 'al',
  'fig', 'no', 'vol', 'pp', 'approx', 'inc', 'ltd', 'co', 'corp', 'dept', 'jan', 'feb', 'mar',
  'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'z.b', 'bzw', 'usw', 'ca',
]);

/** Terminal punctuation, optional closing quotes or brackets, then any whitespace. */
const SENTENCE_END = /([.!?…。！？]+)["'”’)\]]*(\s*)/gu;

/**
 * Splits text into sentences on `.`, `!`, `?` (and their CJK forms) followed by whitespace. A
 * period after a known abbreviation or a single capital initial, or before a lowercase word, does
 * not end a sentence; CJK full stops end one without whitespace. Each sentence keeps its punctuation; whitespace between sentences is dropped.
 */
export function splitIntoSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const match of text.matchAll(SENTENCE_END)) {
    const end = match.index + match[0].length;
    // "3.14" and "example.com" have no whitespace after the dot; CJK text needs none.
    const isCjkStop = /[。！？]/u.test(match[1]!);
    if (!isCjkStop && match[2] === '' && end < text.length) continue;
    // Only the last few characters matter, and a bounded slice keeps long texts linear.
    const before = text.slice(Math.max(start, match.index - 24), match.index);
    if (match[1] === '.' && !endsSentence(before, text.slice(end, end + 1))) {
      continue;
    }
    pushTrimmed(sentences, text.slice(start, end));
    start = end;
  }
  pushTrimmed(sentences, text.slice(start));
  return sentences;
}

function endsSentence(before: string, after: string): boolean {
  const lastWord = /([\p{L}\p{N}.]+)$/u.exec(before)?.[1] ?? '';
  if (ABBREVIATIONS.has(lastWord.toLowerCase())) return false;
  if (/^\p{Lu}$/u.test(lastWord)) return false; // an initial, as in "J. Smith"
  // A lowercase continuation is almost never a new sentence ("approx. three", "Fig. 3 shows").
  return !/^\p{Ll}/u.test(after);
}

function pushTrimmed(out: string[], sentence: string): void {
  const trimmed = sentence.trim();
  if (trimmed !== '') out.push(trimmed);
}
