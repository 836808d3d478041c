/**
 * Twoslash code samples (a fence whose info string says `twoslash`, as TypeScript documentation
 * sites write them) hold lines the reader never sees: the setup above `// ---cut---`, ranges
 * between `// ---cut-start---` and `// ---cut-end---`, everything after `// ---cut-after---`,
 * compiler directives (`// @errors: 2304`) and type queries (`//   ^?`). What is stored is what
 * the page shows.
 */
const CUT_BEFORE = /^\s*\/\/\s*-{3}cut(?:-before)?-{3}\s*$/;
const CUT_AFTER = /^\s*\/\/\s*-{3}cut-after-{3}\s*$/;
const CUT_START = /^\s*\/\/\s*-{3}cut-start-{3}\s*$/;
const CUT_END = /^\s*\/\/\s*-{3}cut-end-{3}\s*$/;
const DIRECTIVE = /^\s*\/\/\s*@[A-Za-z]+\b/;
const QUERY = /^\s*\/\/\s*\^[?|]\s*$/;

/** Whether a fence's info string marks a Twoslash sample. */
export function isTwoslash(info: string): boolean {
  return /(?:^|\s)twoslash(?:\s|$)/.test(info);
}

/** The lines of a Twoslash sample that its page shows, in order. */
export function visibleTwoslash(lines: readonly string[]): string[] {
  let start = 0;
  lines.forEach((line, i) => {
    if (CUT_BEFORE.test(line)) start = i + 1;
  });
  const shown: string[] = [];
  let hidden = false;
  for (const line of lines.slice(start)) {
    if (CUT_AFTER.test(line)) break;
    if (CUT_START.test(line)) hidden = true;
    else if (CUT_END.test(line)) hidden = false;
    else if (!hidden && !DIRECTIVE.test(line) && !QUERY.test(line)) shown.push(line);
  }
  return shown;
}
