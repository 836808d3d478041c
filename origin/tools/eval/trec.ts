import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type {
  Collection,
  CollectionDocument,
  CollectionQuery,
  LoadOptions,
} from './collection-types.js';
import { parseQrels } from './qrels.js';

/**
 * A TREC-style folder: judgments in a file whose name contains `qrel`, queries in
 * `queries.tsv` (`qid<TAB>text`) or in topic files (`<top>` blocks), and documents in every
 * other file holding `<DOC>` records, in subfolders too, gzipped or not. Returns null when the
 * folder has no judgments or no documents.
 */
export async function readTrecCollection(
  folder: string,
  name: string,
  options: LoadOptions = {},
): Promise<Collection | null> {
  const files = await listFiles(folder);
  const qrelFiles = files.filter((file) => /qrel/i.test(file.split('/').pop() ?? ''));
  if (qrelFiles.length === 0) return null;
  const documents: CollectionDocument[] = [];
  const queries: CollectionQuery[] = [];
  for (const file of files) {
    if (qrelFiles.includes(file)) continue;
    const text = await readText(join(folder, file));
    if (/(^|\/)queries\.tsv$/i.test(file)) queries.push(...parseQueriesTsv(text));
    else if (/<DOC>/i.test(text)) documents.push(...parseTrecDocuments(text));
    else if (/<top>/i.test(text)) queries.push(...parseTrecTopics(text, options.topicFields));
  }
  if (documents.length === 0) return null;
  const qrelText = await Promise.all(qrelFiles.map((file) => readText(join(folder, file))));
  return { name, documents, queries, qrels: parseQrels(qrelText.join('\n')) };
}

/** `<DOC><DOCNO>id</DOCNO> … <TEXT>…</TEXT></DOC>`; the title from `<TITLE>`, `<HEADLINE>` or `<HEAD>`. */
export function parseTrecDocuments(text: string): CollectionDocument[] {
  const documents: CollectionDocument[] = [];
  for (const [, body = ''] of text.matchAll(/<DOC>([\s\S]*?)<\/DOC>/gi)) {
    const id = /<DOCNO>\s*([\s\S]*?)\s*<\/DOCNO>/i.exec(body)?.[1];
    if (id === undefined || id === '') continue;
    const title = plain(/<(TITLE|HEADLINE|HEAD)>([\s\S]*?)<\/\1>/i.exec(body)?.[2] ?? '');
    const blocks = [...body.matchAll(/<TEXT>([\s\S]*?)<\/TEXT>/gi)].map((match) => match[1] ?? '');
    const rest = body.replace(/<(DOCNO|DOCID|TITLE|HEADLINE|HEAD)>[\s\S]*?<\/\1>/gi, ' ');
    documents.push({ id, title, text: plain(blocks.length > 0 ? blocks.join('\n') : rest) });
  }
  return documents;
}

/**
 * TREC topics: `<top> <num> Number: 301 <title> … <desc> Description: … <narr> … </top>`, with
 * or without closing tags. The query is the title (plus the description with `title+desc`);
 * a topic without a title falls back to its description.
 */
export function parseTrecTopics(
  text: string,
  fields: 'title' | 'title+desc' = 'title',
): CollectionQuery[] {
  const queries: CollectionQuery[] = [];
  for (const [, top = ''] of text.matchAll(/<top>([\s\S]*?)<\/top>/gi)) {
    const id = /(?:Number:)?\s*(\S+)/i.exec(section(top, 'num'))?.[1];
    if (id === undefined) continue;
    const title = section(top, 'title').replace(/^Topic:\s*/i, '');
    const desc = section(top, 'desc').replace(/^Description:\s*/i, '');
    const query = fields === 'title+desc' || title === '' ? `${title} ${desc}` : title;
    queries.push({ id, text: query.trim() });
  }
  return queries;
}

/** `qid<TAB>text` lines; blank lines and a `qid`/`query_id` header are skipped. */
export function parseQueriesTsv(text: string): CollectionQuery[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.split('\t'))
    .filter(([id, query]) => id !== undefined && query !== undefined && id.trim() !== '')
    .filter(([id], index) => !(index === 0 && /^(qid|query_?id|id)$/i.test(id!.trim())))
    .map(([id, ...query]) => ({ id: id!.trim(), text: query.join(' ').trim() }));
}

/** The text after `<tag>` up to the next tag, on one line. */
function section(block: string, tag: string): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)(?=<\\/?[a-z]+>|$)`, 'i').exec(block);
  return plain(match?.[1] ?? '');
}

/** Inner tags dropped, the common entities decoded, whitespace collapsed. */
function plain(markup: string): string {
  return markup
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ENTITIES[name] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

async function listFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

async function readText(path: string): Promise<string> {
  const bytes = await readFile(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}
