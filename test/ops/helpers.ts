import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** The repository root. */
export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** A fresh temporary directory, readable by nginx workers. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ragedge-ops-${prefix}-`));
}

/** A loopback port that was free a moment ago (the OS picks it; we close and hand it on). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with a bounded wait; never throws on a non-zero exit. */
export async function runCommand(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString();
  });
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  // A command that exits without reading its input (`--help`) closes the pipe first: EPIPE on
  // this write is expected then, and must not surface as an uncaught exception.
  child.stdin.on('error', () => {});
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, stdout, stderr };
}

/** A self-signed certificate for `name` and `www.name`, made by openssl. */
export function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, 'origin.pem');
  const key = join(dir, 'origin.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name},DNS:www.${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

export interface NginxInstance {
  child: ChildProcess;
  prefix: string;
  httpPort: number;
  httpsPort: number;
  errorLog: string;
  stop(): Promise<void>;
}

/** The main config the rendered server blocks are included from, as the Debian package does. */
export function mainConfig(prefix: string, rendered: string): string {
  const tmp = join(prefix, 'tmp');
  mkdirSync(tmp, { recursive: true });
  return [
    // We run as root in CI: workers as root can read the 0700 temp dirs the test made.
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'http {',
    '  include /etc/nginx/mime.types;',
    '  default_type application/octet-stream;',
    '  access_log off;',
    // As in Debian's own nginx.conf: the rendered server blocks must not set it again at http level.
    '  gzip on;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (name) => `  ${name}_temp_path ${join(tmp, name)};`,
    ),
    `  include ${rendered};`,
    '}',
    '',
  ].join('\n');
}

/** `nginx -t` on a rendered config; returns its output. */
export async function nginxTest(prefix: string, rendered: string): Promise<RunResult> {
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, mainConfig(prefix, rendered));
  return runCommand('/usr/sbin/nginx', [
    '-t',
    '-p',
    prefix,
    '-c',
    conf,
    '-g',
    `pid ${join(prefix, 'nginx.pid')}; error_log ${join(prefix, 'error.log')};`,
  ]);
}

/** Runs the real nginx in the foreground as our child and waits (bounded) until HTTPS accepts. */
export async function startNginx(
  prefix: string,
  rendered: string,
  ports: { httpPort: number; httpsPort: number },
  timeoutMs = 15_000,
): Promise<NginxInstance> {
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, mainConfig(prefix, rendered));
  const errorLog = join(prefix, 'error.log');
  const child = spawn(
    '/usr/sbin/nginx',
    [
      '-p',
      prefix,
      '-c',
      conf,
      '-g',
      `daemon off; pid ${join(prefix, 'nginx.pid')}; error_log ${errorLog};`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await once(child, 'exit');
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(ports.httpsPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not listen on ${ports.httpsPort} in ${timeoutMs} ms: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, prefix, ...ports, errorLog, stop };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  text(): Promise<string>;
  web(): ReadableStream<Uint8Array>;
}

/**
 * An HTTPS request to 127.0.0.1:port for `host` (SNI and Host header both), trusting the test's
 * self-signed certificate. Resolves on the response headers; the body is read by the caller.
 */
export function httpsRequest(
  port: number,
  host: string,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    cert?: Buffer;
    key?: Buffer;
    timeoutMs?: number;
    /** The client's own loopback address (e.g. 127.0.0.2), to be a peer nginx does not trust. */
    localAddress?: string;
  } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        servername: host,
        headers: { host, ...options.headers },
        rejectUnauthorized: false,
        agent: false,
        timeout: options.timeoutMs ?? 30_000,
        ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (response) => {
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: response,
          async text() {
            const chunks: Buffer[] = [];
            for await (const chunk of response) chunks.push(chunk as Buffer);
            return Buffer.concat(chunks).toString('utf8');
          },
          web: () => Readable.toWeb(response) as ReadableStream<Uint8Array>,
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`request to ${path} timed out`)));
    request.on('error', reject);
    request.end(options.body);
  });
}
