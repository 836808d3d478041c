import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';

/** One judged question of a QA set (`questions.jsonl`), as `shared/data/qa/README.md` defines it. */
export const QaQuestion = z.object({
  id: z.string().min(1),
  kind: z.enum(['answerable', 'unanswerable', 'followup']),
  question: z.string().min(1).max(4000),
  /** Facts, each a list of acceptable phrasings. */
  answers: z.array(z.array(z.string().min(1)).min(1)),
  /** Pages holding the answer, relative to `docs/`. */
  sources: z.array(z.string().min(1)),
  previous: z.string().optional(),
});
export type QaQuestion = z.infer<typeof QaQuestion>;

/** A QA set: its documents (paths relative to `docs/`) and its questions. */
export interface QaSet {
  folder: string;
  documents: Array<{ path: string; file: string; bytes: number }>;
  questions: QaQuestion[];
}

const DOCUMENT = /\.(?:md|markdown|txt|html?|pdf)$/i;
/** Bounds a walk of a folder that is not a QA set after all. */
const MAX_DOCUMENTS = 10_000;

/**
 * Reads a QA folder: `docs/` (walked for ingestible files) and `questions.jsonl`. Every line is
 * validated, ids are unique, and a follow-up's `previous` names an earlier question.
 *
 * @throws Error naming the file and line of the first problem.
 */
export async function loadQaSet(folder: string): Promise<QaSet> {
  const docs = join(folder, 'docs');
  const documents: QaSet['documents'] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.')) await walk(full);
      else if (entry.isFile() && DOCUMENT.test(entry.name) && documents.length < MAX_DOCUMENTS) {
        const path = relative(docs, full).split(sep).join('/');
        documents.push({ path, file: full, bytes: (await stat(full)).size });
      }
    }
  };
  await walk(docs);
  if (documents.length === 0) throw new Error(`${docs}: no documents`);
  const lines = (await readFile(join(folder, 'questions.jsonl'), 'utf8')).split('\n');
  const questions: QaQuestion[] = [];
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `questions.jsonl line ${index + 1}`;
    let parsed: QaQuestion;
    try {
      parsed = QaQuestion.parse(JSON.parse(line));
    } catch (error) {
      throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (seen.has(parsed.id)) throw new Error(`${where}: duplicate id ${parsed.id}`);
    if (parsed.kind === 'followup' && (parsed.previous === undefined || !seen.has(parsed.previous)))
      throw new Error(`${where}: a follow-up needs the id of an earlier question in "previous"`);
    seen.add(parsed.id);
    questions.push(parsed);
  });
  if (questions.length === 0) throw new Error(`${folder}/questions.jsonl: no questions`);
  return { folder, documents, questions };
}
