import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Collection, LoadOptions } from './collection-types.js';
import { readCranfield, readMedline, readSmartTriplet } from './smart-collections.js';
import { readTrecCollection } from './trec.js';

export type {
  Collection,
  CollectionDocument,
  CollectionQuery,
  LoadOptions,
  Qrels,
} from './collection-types.js';

/** Raised when a folder holds no collection format we can read. */
export class CollectionFormatError extends Error {
  override name = 'CollectionFormatError';
}

/**
 * Reads the test collection in `folder`, detecting its format from the file names: Cranfield
 * (`cran.all.1400`, `cran.qry`, `cranqrel`), MEDLINE (`MED.ALL`, `MED.QRY`, `MED.REL`), any
 * other SMART triplet (`X.ALL`, `X.QRY`, `X.REL`), or TREC (`<DOC>` files, topics or
 * `queries.tsv`, and `qrels`). The collection is named after the folder.
 */
export async function loadCollection(
  folder: string,
  options: LoadOptions = {},
): Promise<Collection> {
  const files = (await readdir(folder, { withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  const name = basename(folder.replace(/[\\/]+$/, '')) || 'collection';
  const has = (file: string) => files.includes(file);
  if (has('cran.all.1400') && has('cran.qry') && has('cranqrel')) {
    return readCranfield(folder, name);
  }
  if (has('MED.ALL') && has('MED.QRY') && has('MED.REL')) return readMedline(folder, name);
  const triplet = findSmartTriplet(files);
  if (triplet !== null) return readSmartTriplet(folder, name, triplet);
  const trec = await readTrecCollection(folder, name, options);
  if (trec !== null) return trec;
  throw new CollectionFormatError(
    `${folder}: no known collection format (Cranfield, MEDLINE, SMART X.ALL/X.QRY/X.REL, TREC)`,
  );
}

/** `X.ALL` + `X.QRY` + `X.REL` with the same stem, in any letter case (CACM, CISI, NPL, …). */
function findSmartTriplet(files: string[]): { all: string; qry: string; rel: string } | null {
  for (const all of files) {
    const match = /^(.+)\.all$/i.exec(all);
    if (match === null) continue;
    const find = (ext: string) =>
      files.find((file) => file.toLowerCase() === `${match[1]!.toLowerCase()}.${ext}`);
    const qry = find('qry');
    const rel = find('rel') ?? find('qrels');
    if (qry !== undefined && rel !== undefined) return { all, qry, rel };
  }
  return null;
}
