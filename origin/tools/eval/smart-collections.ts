import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Collection, CollectionDocument, CollectionQuery, Qrels } from './collection-types.js';
import { addJudgment, parseQrels } from './qrels.js';
import { parseSmart, type SmartRecord } from './smart.js';

/** The three files of a SMART collection: documents, queries, judgments. */
export interface SmartFiles {
  all: string;
  qry: string;
  rel: string;
}

/**
 * Cranfield: documents from `cran.all.1400` (title `.T` and abstract `.W`), queries from
 * `cran.qry`, judgments from `cranqrel` (`qid docid code`). Two traps: the judgments number
 * queries by their position in `cran.qry` (1–225), not by their `.I` label (001, 002, 004, …),
 * so queries are renumbered by position; and codes 1–4 mean relevant with graded gain
 * 5 − code, while −1 (and anything else) means not relevant.
 */
export async function readCranfield(folder: string, name: string): Promise<Collection> {
  const { all, qry, rel } = await readTriplet(folder, {
    all: 'cran.all.1400',
    qry: 'cran.qry',
    rel: 'cranqrel',
  });
  const queries = parseSmart(qry).map((record, index) => ({
    id: String(index + 1),
    text: field(record, 'W'),
  }));
  return { name, documents: smartDocuments(all), queries, qrels: parseCranfieldQrels(rel) };
}

/** Cranfield judgments `qid docid code`: codes 1–4 become gain 5 − code; others are dropped. */
export function parseCranfieldQrels(text: string): Qrels {
  const qrels: Qrels = new Map();
  for (const line of text.split(/\r?\n/)) {
    const [qid, docid, code] = line.trim().split(/\s+/);
    if (qid === undefined || docid === undefined || code === undefined) continue;
    const value = Number(code);
    if (!Number.isInteger(value) || value < 1 || value > 4) continue;
    addJudgment(qrels, normalizeId(qid), normalizeId(docid), 5 - value);
  }
  return qrels;
}

/** MEDLINE: `MED.ALL` and `MED.QRY` are SMART records (`.W` only), `MED.REL` TREC qrels. */
export async function readMedline(folder: string, name: string): Promise<Collection> {
  return readSmartTriplet(folder, name, { all: 'MED.ALL', qry: 'MED.QRY', rel: 'MED.REL' });
}

/**
 * Any SMART triplet (MEDLINE, CISI, CACM, NPL, …): queries keep their `.I` labels, numeric ids
 * lose leading zeros on both sides, and the judgments may be TREC (`qid 0 docid rel`) or
 * SMART style (`qid docid …`, every line relevant).
 */
export async function readSmartTriplet(
  folder: string,
  name: string,
  files: SmartFiles,
): Promise<Collection> {
  const { all, qry, rel } = await readTriplet(folder, files);
  const queries: CollectionQuery[] = parseSmart(qry).map((record) => ({
    id: normalizeId(record.id),
    text: field(record, 'W') || field(record, 'T'),
  }));
  return { name, documents: smartDocuments(all), queries, qrels: parseQrels(rel, normalizeId) };
}

/** Title from `.T`, text from `.W`; a record without an abstract keeps its title as text. */
function smartDocuments(text: string): CollectionDocument[] {
  return parseSmart(text).map((record) => {
    const title = oneLine(field(record, 'T'));
    const body = field(record, 'W');
    return { id: normalizeId(record.id), title, text: body === '' ? title : body };
  });
}

function field(record: SmartRecord, tag: string): string {
  return (record.fields[tag] ?? '').trim();
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** `"007"` → `"7"`; non-numeric ids are kept as they are. */
export function normalizeId(id: string): string {
  return /^\d+$/.test(id) ? String(Number(id)) : id;
}

async function readTriplet(
  folder: string,
  files: SmartFiles,
): Promise<{ all: string; qry: string; rel: string }> {
  const read = (file: string) => readFile(join(folder, file), 'utf8');
  const [all, qry, rel] = await Promise.all([read(files.all), read(files.qry), read(files.rel)]);
  return { all, qry, rel };
}
