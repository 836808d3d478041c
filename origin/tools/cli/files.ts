import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { INGESTIBLE_EXTENSIONS as INGESTIBLE } from '../../src/ingest/formats.js';

const SKIPPED_DIRS = new Set(['node_modules', '.git']);
/** Bounds a walk of an unexpectedly huge tree. */
const MAX_FILES = 100_000;

/** The ingestible files under `path` (or `path` itself), sorted, hidden folders skipped. */
export async function findIngestibleFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (info.isFile()) return [path];
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (found.length >= MAX_FILES) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name)) await walk(full);
      } else if (entry.isFile() && INGESTIBLE.has(extname(entry.name).toLowerCase())) {
        found.push(full);
      }
    }
  };
  await walk(path);
  return found;
}
