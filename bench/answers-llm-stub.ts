/**
 * The answer-quality harness in LLM mode: the same run as `npm run eval:answers` (the QA folder's
 * pages uploaded through the API, every question asked through the chat stream, follow-ups in
 * their conversation), with `LLM_BASE_URL` pointing at the repo's local OpenAI-compatible stub
 * (`origin/test/llm-stub.ts`, model `quote`: it streams the text of source [1] of its prompt and
 * cites [1], and rewrites a follow-up as the conversation's questions). So the real client path
 * runs: the prompt with its numbered, delimited sources, the streamed completion, the citation
 * and link filters, `done.cited`, the sources event, refusals before any model call.
 *
 * A stub cannot judge answer quality: its "answer" is the first source's text, so the correct
 * count measures retrieval's first source, not a model. What this run does show is that every
 * answered question reached the model with its sources, that citations come back as data and
 * name a listed source, that no link survives unless it is a source's URL, and that refusals
 * are the same as in extractive mode (the gate runs before the model).
 *
 *   npm run bench:answers-llm -- ../shared/data/qa/hono [--database-url URL]
 *
 * Writes bench/results/answers-hono-llm-stub-<db>.json.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startLlmStub } from '../origin/test/llm-stub.js';
import { formatAnswerReport } from '../origin/tools/eval/answers/cli.js';
import { loadQaSet } from '../origin/tools/eval/answers/questions.js';
import { runAnswerEvaluation } from '../origin/tools/eval/answers/run.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'database-url': { type: 'string' }, json: { type: 'string' } },
});
const folder = positionals[0] ?? '../shared/data/qa/hono';
const databaseUrl = values['database-url'];
const database = databaseUrl === undefined ? 'pglite' : 'postgres';
const out = values.json ?? `bench/results/answers-hono-llm-stub-${database}.json`;

const stub = await startLlmStub();
try {
  const set = await loadQaSet(folder);
  const report = await runAnswerEvaluation(set, {
    databaseUrl,
    settings: { LLM_BASE_URL: stub.url, LLM_MODEL: 'quote', LLM_API_KEY: 'stub-key' },
    onProgress: (done, total) => process.stderr.write(`\rasked ${done}/${total}`),
  });
  process.stderr.write('\n');

  const prompts = stub.requests.map((r) => r.body as { stream?: boolean; messages?: unknown[] });
  const streamed = prompts.filter((p) => p.stream === true);
  const lastMessage = (p: { messages?: unknown[] }) =>
    String((p.messages?.at(-1) as { content?: unknown } | undefined)?.content ?? '');
  const checks = {
    upstreamRequests: stub.requests.length,
    streamedRequests: streamed.length,
    condenseRequests: stub.requests.length - streamed.length,
    streamedWithSources: streamed.filter((p) => /^\[1\] /m.test(lastMessage(p))).length,
    answersCitingNothing: report.results.filter(
      (r) => r.cited.length === 0 && r.answer !== '' && !r.answer.startsWith("I couldn't"),
    ).length,
    /** A Markdown link or autolink left in an answer: none may survive (no source has a URL). */
    answersWithLinks: report.results.filter((r) =>
      /(?<!\\)\[[^\]\n]*\]\(\s*https?:|<https?:/i.test(r.answer),
    ).length,
    errors: report.results.filter((r) => r.error !== null).map((r) => `${r.id}: ${r.error}`),
  };
  process.stdout.write(`${formatAnswerReport(report)}\n\nLLM path: ${JSON.stringify(checks)}\n`);
  await writeFile(
    out,
    `${JSON.stringify(
      {
        command: `npm run bench:answers-llm -- ${process.argv.slice(2).join(' ')}`.replace(
          /(--database-url[ =])\S+/,
          '$1<url>',
        ),
        date: new Date().toISOString(),
        database,
        llm: 'local OpenAI-compatible stub, model quote',
        checks,
        ...report,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await stub.close();
}
