/**
 * A stand-in for the Hugging Face hub in tests: serves `<sourceDir>/<model>/<file>` at
 * `/<model>/resolve/<revision>/<file>` on 127.0.0.1, records every request, and fails chosen
 * files on demand. Like the hub, it answers HEAD, honours `Range: bytes=<start>-`, gives other
 * files their git blob SHA-1 as ETag, and redirects `.onnx` files (LFS files on the hub) to a
 * GET-only `/cdn/` path, stating their SHA-256 and size in `X-Linked-Etag` and `X-Linked-Size`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * How a file fails: an HTTP status, a body cut short, headers then silence, or bytes that do not
 * match the checksum announced for them.
 */
export type HubFailure = number | 'truncate' | 'stall' | 'corrupt';

export interface TestHub {
  url: string;
  /** Paths requested so far, e.g. `/tiny/embedder/resolve/main/config.json`. */
  requests: string[];
  /** The same, with the method and any range: `GET /tiny/…/model.onnx bytes=100-`. */
  log: string[];
  /** Keyed by `<model>/<file>`, e.g. `tiny/embedder/onnx/model.onnx`. */
  failures: Map<string, HubFailure>;
  close(): Promise<void>;
}

const RESOLVE_PATH = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/;
/** Where LFS files are redirected, as the hub sends them to its CDN: a signed URL good for GET only. */
const CDN_PATH = /^\/cdn\/([^/]+\/[^/]+)\/(.+)$/;

/**
 * Starts the hub. `aliases` serves a source model under another id, e.g.
 * `{ 'Xenova/some-model': 'tiny/embedder' }`.
 */
export async function startTestHub(
  sourceDir: string,
  aliases: Record<string, string> = {},
): Promise<TestHub> {
  const requests: string[] = [];
  const log: string[] = [];
  const failures = new Map<string, HubFailure>();
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://hub').pathname;
    requests.push(path);
    const range = request.headers.range;
    log.push(`${request.method} ${path}${range === undefined ? '' : ` ${range}`}`);
    const cdn = CDN_PATH.exec(path);
    const match = cdn ?? RESOLVE_PATH.exec(path);
    if (match === null || match[1] === undefined || match[2] === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    const [modelId, file] = [match[1], match[2]];
    if (cdn !== null && request.method !== 'GET') {
      response.writeHead(403).end('signature does not match');
      return;
    }
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
    const etag = file.endsWith('.onnx')
      ? createHash('sha256').update(body).digest('hex')
      : createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
    // The CDN's own ETag is not the SHA-256 (S3's is an MD5).
    const servedEtag = cdn === null ? etag : createHash('md5').update(body).digest('hex');
    if (cdn === null && file.endsWith('.onnx')) {
      response
        .writeHead(302, {
          location: `/cdn/${modelId}/${file}`,
          'x-linked-etag': `"${etag}"`,
          'x-linked-size': body.length,
        })
        .end();
      return;
    }
    const served = failure === 'corrupt' ? Buffer.from(body).fill(0, 0, 16) : body;
    const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    if (start >= served.length && start > 0) {
      response.writeHead(416, { 'content-range': `bytes */${served.length}` }).end();
      return;
    }
    const part = served.subarray(start);
    response.writeHead(start > 0 ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': part.length,
      etag: `"${servedEtag}"`,
      ...(start > 0
        ? { 'content-range': `bytes ${start}-${served.length - 1}/${served.length}` }
        : {}),
    });
    if (request.method === 'HEAD') {
      response.end();
    } else if (failure === 'truncate') {
      response.write(part.subarray(0, Math.floor(part.length / 2)), () => response.destroy());
    } else if (failure === 'stall') {
      response.flushHeaders();
    } else {
      response.end(part);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    log,
    failures,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
