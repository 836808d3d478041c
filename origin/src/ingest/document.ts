/**
 * What parsing makes of a document, apart from the parsers (`parse.ts` dispatches to them and
 * they all return these), so that no parser imports the module that imports it.
 */

/** One structural unit of a document, as plain text (never markup). */
export type Block =
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'text'; text: string }
  | {
      kind: 'code';
      text: string /** The code's language, when the document names it. */;
      lang?: string;
    };

/** A document reduced to its title and its blocks in reading order. */
export interface ParsedDocument {
  title: string | null;
  blocks: Block[];
}

/** Limits that bound the work one document may cost. */
export interface ParseOptions {
  /** A PDF with more pages is refused (default `DEFAULT_MAX_PDF_PAGES`). */
  maxPdfPages?: number;
  /** Text (decoded, or extracted from a PDF) past this many characters is refused. */
  maxTextChars?: number;
  /** HTML nested deeper than this many elements is refused before it is parsed. */
  maxHtmlDepth?: number;
}
