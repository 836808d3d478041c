/**
 * The first start's offer of real models: when the embedding or reranking model is missing and a
 * person is at the terminal, say how much there is to download and ask; with `MODELS_FETCH=always`
 * fetch without asking; otherwise (no terminal, `never`, declined, offline) serve the offline
 * embedder and say in one line how to upgrade. Runs before the services are built, so that the
 * embedder chosen at boot, and the demo site seeded with it, use what was fetched.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import { plural } from '../lib/plural.js';
import { bytesToFetch, type FetchProgress, fetchModel } from './fetch.js';
import { type ModelDtype, modelFilesPresent } from './layout.js';

/** The one line that tells how to move from the offline embedder to the real models. */
export const UPGRADE_HINT =
  'for better answers run `npm run models:fetch`, restart, then `npm run rag -- reindex --site <name>` for each site';

/** The settings the offer reads (a slice of the origin's config). */
export interface ModelOfferSettings {
  MODELS_FETCH: 'auto' | 'always' | 'never';
  MODELS_DIR: string;
  MODELS_HUB_URL: string;
  DATA_DIR: string;
  EMBEDDER: 'auto' | 'transformers' | 'hash';
  EMBEDDING_MODEL: string;
  EMBEDDING_DTYPE: ModelDtype;
  RERANKER: 'auto' | 'cross-encoder' | 'lexical' | 'none';
  RERANK_MODEL: string;
}

/** Where the question is asked and the progress shown. */
export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

export type OfferOutcome =
  | 'present'
  | 'not-asked'
  | 'declined'
  | 'unanswered'
  | 'offline'
  | 'failed'
  | 'fetched';

export interface OfferOptions {
  fetchImpl?: typeof fetch;
  /** A question nobody answers counts as "not now" after this long. Default 5 minutes. */
  answerTimeoutMs?: number;
}

/** Marks a data folder whose owner said no, so that later starts do not ask again. */
const DECLINED_FILE = 'models-declined';

/** Fetches the missing models, or not, as the settings and the person at the terminal say. */
export async function offerModels(
  settings: ModelOfferSettings,
  terminal: Terminal,
  options: OfferOptions = {},
): Promise<OfferOutcome> {
  const wanted = missingModels(settings);
  if (wanted.length === 0) return 'present';
  const interactive = terminal.input.isTTY === true && terminal.output.isTTY === true;
  const declinedFile = join(settings.DATA_DIR, DECLINED_FILE);
  if (settings.MODELS_FETCH === 'never') return 'not-asked';
  if (settings.MODELS_FETCH === 'auto' && (!interactive || existsSync(declinedFile)))
    return 'not-asked';

  const say = (line: string) => terminal.output.write(`${line}\n`);
  const common = {
    modelsDir: settings.MODELS_DIR,
    hubUrl: settings.MODELS_HUB_URL,
    dtype: settings.EMBEDDING_DTYPE,
    timeoutMs: 15_000,
    ...(options.fetchImpl === undefined ? {} : { fetchImpl: options.fetchImpl }),
  };
  let total = 0;
  try {
    for (const modelId of wanted) total += await bytesToFetch({ ...common, modelId });
  } catch (error) {
    say(`Models: could not reach ${settings.MODELS_HUB_URL} (${message(error)}).`);
    say(`Serving the offline hash embedder; ${UPGRADE_HINT}.`);
    return 'offline';
  }

  if (settings.MODELS_FETCH === 'auto') {
    const answer = await ask(
      terminal,
      `${describeWanted(settings, wanted)} in ${settings.MODELS_DIR}.\nFetch ${wanted.length === 1 ? 'it' : 'them'} now, ${megabytes(total)}? [Y/n] `,
      options.answerTimeoutMs ?? 300_000,
    );
    if (answer === null) {
      say(`\nNo answer: serving the offline hash embedder for now; ${UPGRADE_HINT}.`);
      return 'unanswered';
    }
    if (!/^(y|yes)?$/i.test(answer.trim())) {
      mkdirSync(settings.DATA_DIR, { recursive: true });
      writeFileSync(declinedFile, `${new Date().toISOString()}\n`);
      say(`Serving the offline hash embedder; ${UPGRADE_HINT}.`);
      return 'declined';
    }
  }

  const bar = new SingleBar({
    stream: terminal.output,
    format: 'Fetching models {bar} {percentage}% | {loaded} of {size} | {file}',
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 5_000,
  });
  const sizes = new Map<string, number>();
  let verified = 0;
  let files = 0;
  const onProgress = (progress: FetchProgress) => {
    sizes.set(`${progress.modelId}/${progress.file}`, progress.loaded);
    if (progress.status === 'done') {
      files += 1;
      if (progress.sha256Verified) verified += 1;
    }
    const loaded = [...sizes.values()].reduce((sum, bytes) => sum + bytes, 0);
    bar.update(Math.min(loaded, total), {
      loaded: megabytes(loaded),
      size: megabytes(total),
      file: progress.file,
    });
  };
  bar.start(Math.max(total, 1), 0, { loaded: megabytes(0), size: megabytes(total), file: '' });
  const failure = await (async () => {
    for (const modelId of wanted) await fetchModel({ ...common, modelId, onProgress });
  })().then(
    () => null,
    (error: unknown) => error,
  );
  bar.stop();
  if (failure !== null) {
    say(`Models: ${message(failure)}`);
    say('Serving the offline hash embedder; `npm run models:fetch` resumes the download.');
    return 'failed';
  }
  say(
    `Models fetched into ${settings.MODELS_DIR}: ${plural(files, 'file')}, every size checked, ${verified} of them against the hub's SHA-256.`,
  );
  return 'fetched';
}

/** The models the settings would use that are not on disk yet. */
function missingModels(settings: ModelOfferSettings): string[] {
  const wanted: string[] = [];
  if (settings.EMBEDDER !== 'hash') wanted.push(settings.EMBEDDING_MODEL);
  if (settings.RERANKER === 'auto' || settings.RERANKER === 'cross-encoder')
    wanted.push(settings.RERANK_MODEL);
  return wanted.filter(
    (modelId) => !modelFilesPresent(settings.MODELS_DIR, modelId, settings.EMBEDDING_DTYPE),
  );
}

/** "The embedding and reranking models (…) are not", or the one of them that is missing. */
function describeWanted(settings: ModelOfferSettings, wanted: string[]): string {
  if (wanted.length > 1) return `The embedding and reranking models (${wanted.join(', ')}) are not`;
  const kind = wanted[0] === settings.EMBEDDING_MODEL ? 'embedding' : 'reranking';
  return `The ${kind} model (${wanted[0]}) is not`;
}

/** One line from the terminal; null when nobody answers in time. Ctrl-C still stops the process. */
function ask(terminal: Terminal, question: string, timeoutMs: number): Promise<string | null> {
  const prompt = createInterface({ input: terminal.input, output: terminal.output });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      prompt.close();
      resolve(null);
    }, timeoutMs);
    prompt.on('SIGINT', () => {
      prompt.close();
      process.exit(130);
    });
    prompt.question(question, (answer) => {
      clearTimeout(timer);
      prompt.close();
      resolve(answer);
    });
  });
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function message(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
