import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadQaSet } from './questions.js';
import { type AnswerReport, runAnswerEvaluation } from './run.js';

const USAGE = `Usage: npm run eval:answers -- <qa folder> [options]

Measures answer quality through the product's API: ingests <qa folder>/docs into a fresh site,
asks every question of <qa folder>/questions.jsonl through the chat stream (follow-ups in the
same conversation) and scores the replies (every fact present and a right page cited; refusals).

Options:
  --set KEY=VALUE      a product setting for this run (repeatable), e.g. --set LLM_BASE_URL=...
  --json FILE          also write every answer, the figures, the command line and the date to FILE
  --database-url URL   run on this PostgreSQL (a temporary site, deleted after) instead of PGlite
  --embedder NAME      hash (default), transformers or auto
  --limit N            only the first N questions
  -h, --help           this text

With a model: --set LLM_BASE_URL=... --set LLM_MODEL=... (and LLM_API_KEY). Against the repo's
local OpenAI-compatible stub, which exercises the client path but cannot judge quality:
npm run bench:answers-llm -- <qa folder> [--database-url URL]`;

interface AnswerArgs {
  folder: string;
  settings: Record<string, string>;
  json: string | undefined;
  databaseUrl: string | undefined;
  embedder: 'hash' | 'transformers' | 'auto';
  limit: number | undefined;
}

/** Parses the arguments; throws an Error naming the bad one. */
export function parseAnswerArgs(argv: string[]): AnswerArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      set: { type: 'string', multiple: true },
      json: { type: 'string' },
      'database-url': { type: 'string' },
      embedder: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const [folder, ...extra] = positionals;
  if (folder === undefined || extra.length > 0) throw new Error('give exactly one folder');
  const embedder = values.embedder ?? 'hash';
  if (embedder !== 'hash' && embedder !== 'transformers' && embedder !== 'auto')
    throw new Error('--embedder: must be hash, transformers or auto');
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new Error('--limit: must be a positive integer');
  return {
    folder,
    json: values.json,
    databaseUrl: values['database-url'],
    embedder,
    limit,
    settings: Object.fromEntries(
      (values.set ?? []).map((pair) => {
        const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
        if (match === null) throw new Error(`--set: expected KEY=VALUE, got "${pair}"`);
        return [match[1]!, match[2]!];
      }),
    ),
  };
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The report as printed: documents, the per-kind table, the headline figures, TTFT, failures. */
export function formatAnswerReport(report: AnswerReport): string {
  const lines: string[] = [];
  const { documents, scores } = report;
  lines.push(`documents: ${documents.stored} stored of ${documents.given} given`);
  for (const failure of documents.failed) lines.push(`  upload failed: ${failure}`);
  lines.push('', 'kind          asked  correct  false refusals');
  for (const [kind, row] of Object.entries(report.byKind)) {
    lines.push(
      `${kind.padEnd(12)}  ${String(row.asked).padStart(5)}  ${String(row.correct).padStart(7)}  ${String(row.falseRefusals).padStart(14)}`,
    );
  }
  lines.push(
    '',
    `answerable + follow-up correct: ${scores.answerableCorrect}/${scores.answerable} (${percent(scores.accuracy)})`,
    `false refusals:                 ${scores.falseRefusals}/${scores.answerable} (${percent(scores.falseRefusalRate)})`,
    `unanswerable refused:           ${scores.unanswerableRefused}/${scores.unanswerable} (${percent(scores.refusalAccuracy)})`,
    ...(['odd', 'even'] as const).map((half) => {
      const h = report.byHalf[half];
      return `${`${half} ids:`.padEnd(32)}${h.answerableCorrect}/${h.answerable} correct, ${h.falseRefusals} false refusals, ${h.unanswerableRefused}/${h.unanswerable} unanswerable refused`;
    }),
    `time to first token: p50 ${report.ttftMs.p50?.toFixed(0) ?? '-'} ms, p95 ${report.ttftMs.p95?.toFixed(0) ?? '-'} ms`,
  );
  const failures = report.results.filter((r) => r.verdict !== 'correct');
  if (failures.length > 0) lines.push('', `failures (${failures.length}):`);
  for (const f of failures) {
    lines.push(
      `- ${f.id} [${f.kind}] ${f.verdict}: ${f.question}`,
      `    cited: ${f.cited.join(', ') || '-'}; expected: ${f.expectedSources.join(', ') || '-'}${f.expectedSources.length > 0 && !f.retrieved.some((p) => f.expectedSources.includes(p)) ? ' (not retrieved)' : ''}${f.error ? `; error: ${f.error}` : ''}`,
      `    answer: ${f.answer.replace(/\s+/g, ' ').slice(0, 240)}`,
    );
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  let args: AnswerArgs | 'help';
  try {
    args = parseAnswerArgs(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const set = await loadQaSet(args.folder);
  const report = await runAnswerEvaluation(set, {
    databaseUrl: args.databaseUrl,
    embedder: args.embedder,
    settings: args.settings,
    limit: args.limit,
    onProgress: (done, total) => process.stderr.write(`\rasked ${done}/${total}`),
  });
  process.stderr.write('\n');
  process.stdout.write(`${formatAnswerReport(report)}\n`);
  if (args.json !== undefined) {
    const command = `npm run eval:answers -- ${argv.join(' ')}`.replace(
      /(--database-url[ =])\S+/,
      '$1<url>',
    );
    await writeFile(
      args.json,
      `${JSON.stringify({ command, date: new Date().toISOString(), database: args.databaseUrl === undefined ? 'pglite' : 'postgres', embedder: args.embedder, settings: args.settings, ...report }, null, 2)}\n`,
    );
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `eval:answers: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
