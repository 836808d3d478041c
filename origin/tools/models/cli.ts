/**
 * `npm run models:fetch`: downloads the default embedding model and reranker into `./models`.
 *
 * Options: `--models-dir <dir>` (default `MODELS_DIR`, else `./models`), `--hub-url <url>`
 * (default `MODELS_HUB_URL`, else `https://huggingface.co`, e.g. a mirror): the same folder and
 * hub as the origin's, so that the command a start suggests fills the folder the origin reads.
 */

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_MODEL_DTYPE,
  DEFAULT_RERANKER_MODEL,
} from '../../src/models/defaults.js';
import { type FetchProgress, fetchModel } from '../../src/models/fetch.js';

const USAGE = 'Usage: models:fetch [--models-dir <dir>] [--hub-url <url>]';

export interface CliIo {
  /** Where progress goes. Default `process.stdout`. */
  out?: { write(text: string): unknown; isTTY?: boolean };
  fetchImpl?: typeof fetch;
  /** Where `MODELS_DIR` and `MODELS_HUB_URL` are read. Default: none. */
  env?: Record<string, string | undefined>;
}

/** Runs the command; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  let values: { 'models-dir'?: string; 'hub-url'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'models-dir': { type: 'string' },
        'hub-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    out.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }

  const modelsDir = values['models-dir'] ?? nonEmpty(io.env?.MODELS_DIR) ?? './models';
  const hubUrl = values['hub-url'] ?? nonEmpty(io.env?.MODELS_HUB_URL);
  const report = progressReporter(out);
  try {
    for (const modelId of [DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL]) {
      await fetchModel({
        modelId,
        modelsDir,
        dtype: DEFAULT_MODEL_DTYPE,
        onProgress: report,
        ...(hubUrl === undefined ? {} : { hubUrl }),
        ...(io.fetchImpl === undefined ? {} : { fetchImpl: io.fetchImpl }),
      });
    }
  } catch (error) {
    out.write(`\n${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  out.write(`Models are in ${modelsDir}\n`);
  return 0;
}

/** One line per file; on a terminal the line counts up, elsewhere it prints every 25 %. */
function progressReporter(out: NonNullable<CliIo['out']>): (progress: FetchProgress) => void {
  let lastQuarter = -1;
  let lastLine = '';
  return (progress) => {
    const name = `${progress.modelId}/${progress.file}`;
    switch (progress.status) {
      case 'skipped':
        out.write(`${name}: already present\n`);
        return;
      case 'missing':
        out.write(`${name}: not on the hub (optional)\n`);
        return;
      case 'done':
        lastQuarter = -1;
        out.write(
          `${out.isTTY ? '\r' : ''}${name}: ${megabytes(progress.loaded)} done${progress.sha256Verified ? ', sha256 verified' : ''}\n`,
        );
        return;
      case 'downloading': {
        const { loaded, total } = progress;
        const share = total
          ? ` / ${megabytes(total)} (${Math.floor((loaded / total) * 100)} %)`
          : '';
        if (out.isTTY) {
          const line = `\r${name}: ${megabytes(loaded)}${share}`;
          if (line !== lastLine) out.write(line);
          lastLine = line;
        } else if (total) {
          const quarter = Math.floor((loaded / total) * 4);
          if (quarter > lastQuarter && quarter < 4) {
            lastQuarter = quarter;
            out.write(`${name}: ${megabytes(loaded)}${share}\n`);
          }
        }
      }
    }
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2), { env: process.env });
}
