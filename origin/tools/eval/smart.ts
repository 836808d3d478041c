/**
 * Readers for SMART-tagged test collections (Cranfield, MEDLINE and their kin): records start
 * with `.I <id>`, fields with a tag alone on a line (`.T`, `.A`, `.B`, `.W`, …).
 */

/** One record: its id and its fields by tag letter. */
export interface SmartRecord {
  id: string;
  fields: Record<string, string>;
}

/** Parses SMART records; CRLF line ends and trailing spaces are tolerated. */
export function parseSmart(text: string): SmartRecord[] {
  const records: SmartRecord[] = [];
  let current: SmartRecord | null = null;
  let field: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const start = /^\.I\s+(\S+)/.exec(line);
    if (start !== null) {
      current = { id: start[1]!, fields: {} };
      records.push(current);
      field = null;
      continue;
    }
    const tag = /^\.([A-Z])$/.exec(line);
    if (tag !== null && current !== null) {
      field = tag[1]!;
      current.fields[field] ??= '';
      continue;
    }
    if (current !== null && field !== null) {
      current.fields[field] =
        current.fields[field] === '' ? line.trim() : `${current.fields[field]}\n${line.trim()}`;
    }
  }
  return records;
}
