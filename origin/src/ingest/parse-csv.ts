import { parse } from 'csv-parse/sync';
import { AppError } from '../errors.js';
import type { Block, ParsedDocument } from './document.js';

/** Rows read from one table; a larger table is refused rather than cut silently. */
export const MAX_CSV_ROWS = 200_000;

/**
 * Reads a CSV table whose first row names the columns: each row becomes one text block of
 * `column: value` pairs, so that a chunk carries the meaning of its cells and not bare numbers.
 *
 * @throws AppError `unprocessable_document` for malformed CSV or too many rows.
 */
export function parseCsv(text: string, label: string): ParsedDocument {
  let rows: string[][];
  try {
    rows = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      max_record_size: 1_000_000,
      to_line: MAX_CSV_ROWS + 2,
    }) as string[][];
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : 'malformed';
    throw new AppError('unprocessable_document', `${label} is not valid CSV (${reason})`, {
      cause,
    });
  }
  if (rows.length > MAX_CSV_ROWS + 1) {
    throw new AppError('unprocessable_document', `${label} has more than ${MAX_CSV_ROWS} rows`);
  }
  const [header, ...records] = rows;
  if (header === undefined) return { title: null, blocks: [] };
  const blocks: Block[] = [];
  for (const record of records) {
    const cells = record
      .map((value, i) => (value === '' ? '' : `${header[i] || `column ${i + 1}`}: ${value}`))
      .filter((cell) => cell !== '');
    if (cells.length > 0) blocks.push({ kind: 'text', text: cells.join('; ') });
  }
  // A table with a header and no rows still says what it holds.
  if (blocks.length === 0) blocks.push({ kind: 'text', text: header.join('; ') });
  return { title: null, blocks };
}
