/**
 * A stand-in for the Hugging Face hub in tests: serves `<sourceDir>/<model>/<file>` at
 * `/<model>/resolve/<revision>/<file>` on 127.0.0.1, records every request, and fails chosen
 * files on demand.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** How a file fails: an HTTP status, a body cut short, or headers then silence. */
export type HubFailure = number | 'truncate' | 'stall';

export interface TestHub {
  url: string;
  /** Paths requested so far, e.g. `/tiny/embedder/resolve/main/config.json`. */
  requests: string[];
  /** Keyed by `<model>/<file>`, e.g. `tiny/embedder/onnx/model.onnx`. */
  failures: Map<string, HubFailure>;
  close(): Promise<void>;
}

const RESOLVE_PATH = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/;

/**
 * Starts the hub. `aliases` serves a source model under another id, e.g.
 * `{ 'Xenova/some-model': 'tiny/embedder' }`.
 */
export async function startTestHub(
  sourceDir: string,
  aliases: Record<string, string> = {},
): Promise<TestHub> {
  const requests: string[] = [];
  const failures = new Map<string, HubFailure>();
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://hub').pathname;
    requests.push(path);
    const match = RESOLVE_PATH.exec(path);
    if (match === null || match[1] === undefined || match[2] === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    const [modelId, file] = [match[1], match[2]];
    const failure = failures.get(`${modelId}/${file}`);
    if (typeof failure === 'number') {
      response.writeHead(failure).end(`failure ${failure}`);
      return;
    }
    const body = await readFile(join(sourceDir, aliases[modelId] ?? modelId, file)).catch(
      () => undefined,
    );
    if (body === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
    });
    if (failure === 'truncate') {
      response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.destroy());
    } else if (failure === 'stall') {
      response.flushHeaders();
    } else {
      response.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failures,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
