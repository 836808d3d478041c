import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { plural } from '../../src/lib/plural.js';
import { loadCollection } from './collection.js';
import { formatReport } from './report.js';
import { runEvaluation } from './run.js';

const USAGE = `Usage: npm run eval -- <collection folder> [options]

Measures the product's retrieval on a judged collection (Cranfield, MEDLINE, other SMART
triplets, TREC) against an in-memory BM25 reference: nDCG@10, MAP, Recall@100, MRR.

Options:
  --queries N          only the first N queries (a fast slice)
  --k N                ranking depth in documents, 1–200 (default 100)
  --json FILE          also write every figure, the command line and the date to FILE
  --database-url URL   run on this PostgreSQL (a temporary site, deleted after) instead of PGlite
  --embedder NAME      hash (default), transformers or auto
  --topics FIELDS      TREC topics: title (default) or title+desc
  --set KEY=VALUE      a product setting for this run (repeatable), e.g. --set SEARCH_VECTOR_WEIGHT=0.5
  -h, --help           this text`;

/** The parsed command line of `npm run eval`. */
export interface EvalArgs {
  folder: string;
  queries: number | undefined;
  k: number;
  json: string | undefined;
  databaseUrl: string | undefined;
  embedder: 'hash' | 'transformers' | 'auto';
  topics: 'title' | 'title+desc';
  /** Product configuration for this run, read through the origin's own config schema. */
  settings: Record<string, string>;
}

/** Parses the arguments; throws an Error naming the bad one. */
export function parseEvalArgs(argv: string[]): EvalArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      queries: { type: 'string' },
      k: { type: 'string' },
      json: { type: 'string' },
      'database-url': { type: 'string' },
      embedder: { type: 'string' },
      topics: { type: 'string' },
      set: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const [folder, ...extra] = positionals;
  if (folder === undefined || extra.length > 0) throw new Error('give exactly one folder');
  const embedder = values.embedder ?? 'hash';
  if (embedder !== 'hash' && embedder !== 'transformers' && embedder !== 'auto') {
    throw new Error('--embedder: must be hash, transformers or auto');
  }
  const topics = values.topics ?? 'title';
  if (topics !== 'title' && topics !== 'title+desc') {
    throw new Error('--topics: must be title or title+desc');
  }
  return {
    folder,
    queries: values.queries === undefined ? undefined : integer('--queries', values.queries, 1),
    k: values.k === undefined ? 100 : integer('--k', values.k, 1, 200),
    json: values.json,
    databaseUrl: values['database-url'],
    embedder,
    topics,
    settings: Object.fromEntries(
      (values.set ?? []).map((pair) => {
        const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
        if (match === null) throw new Error(`--set: expected KEY=VALUE, got "${pair}"`);
        return [match[1]!, match[2]!];
      }),
    ),
  };
}

function integer(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: must be an integer from ${min}${max < 1e15 ? ` to ${max}` : ''}`);
  }
  return value;
}

/**
 * Runs `npm run eval`: the table on stdout, progress on stderr. Exit code 0 when every row
 * has figures, 1 when a product run could not complete (e.g. no search API), 2 on bad usage.
 */
export async function main(argv: string[]): Promise<number> {
  let args: EvalArgs | 'help';
  try {
    args = parseEvalArgs(argv);
  } catch (error) {
    process.stderr.write(`eval: ${error instanceof Error ? error.message : error}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const progress = (line: string) => process.stderr.write(`eval: ${line}\n`);
  const collection = await loadCollection(args.folder, { topicFields: args.topics });
  progress(
    `${collection.name}: ${plural(collection.documents.length, 'document')}, ${plural(collection.queries.length, 'query', 'queries')}`,
  );
  const report = await runEvaluation(collection, { ...args, progress });
  process.stdout.write(formatReport(report));
  if (args.json !== undefined) {
    const command = ['npm run eval --', ...argv].join(' ');
    const json = { command, date: new Date().toISOString(), ...report };
    await writeFile(args.json, `${JSON.stringify(json, null, 2)}\n`);
    progress(`figures written to ${args.json}`);
  }
  return report.rows.every((row) => row.scores !== null) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`eval: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
