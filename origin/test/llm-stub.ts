/**
 * A local stand-in for an OpenAI-compatible chat-completions server, for tests of the answer
 * generator. The request's `model` chooses what it does:
 *
 * - `echo`: streams `STUB_ANSWER` word by word (it cites [1]);
 * - `cite-7`: streams `STUB_ANSWER_CITE_7` (it cites [1] and [7]);
 * - `markup`: streams `STUB_ANSWER_MARKUP`, raw HTML and Markdown, for the renderers' tests;
 * - `rich`: streams `STUB_ANSWER_RICH`, a long answer with a table and a code block, and rewrites
 *   a follow-up (a non-streamed request) as its last question;
 * - `quote`: quotes the text of source [1] of its prompt and cites it, as a model that repeats a
 *   document word for word would (what a hostile document counts on); rewrites a follow-up (a
 *   non-streamed request) as the conversation's questions together;
 * - `stall-<ms>`: sends headers and the first token, waits `ms`, then sends the rest;
 * - `slow-<ms>`: waits `ms` before every token;
 * - `first-<ms>`: waits `ms` before the first token only, as a hosted model does while it reads the
 *   prompt (its time to first token), then streams the rest at once;
 * - `error-500`: answers HTTP 500 before any token;
 * - `error-401`: answers HTTP 401 with the bearer token in the message, as some servers do;
 * - `error-403-org`: answers HTTP 403 naming an organisation, project and e-mail, as hosted APIs do;
 * - `fail-once`: HTTP 500 to its first request, then behaves as `echo`;
 * - `error-midstream`: two tokens, then destroys the socket;
 * - `hang`: accepts the request and never answers.
 *
 * With `stream: false` the answer comes whole as one JSON completion (after the same errors).
 * Binds 127.0.0.1 on a free port; `close()` ends every connection it still holds.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const STUB_ANSWER = 'Paris is the capital of France [1]. It lies on the Seine [1].';
export const STUB_ANSWER_CITE_7 = 'The tower is in Paris [1]. It was built in 1889 [7].';
/** An answer a hostile page could talk a model into: a link to a page no source is. */
export const STUB_ANSWER_LINK =
  'Restore from the [official guide](https://phish.example/login) or <https://phish.example/x> [1].';
export const STUB_ANSWER_MARKUP =
  'Beware <script>alert("model")</script> and <img src=x onerror=alert(2)>: **Paris** is the capital [1].\n\n- a `<b>` tag\n- the Seine [1]';

export const STUB_ANSWER_RICH = [
  'Paris is the capital of France [1]. The settings that matter:',
  '',
  '| Setting | Value |',
  '|---|---|',
  '| `shared_buffers` | 1GB |',
  '| max_connections | 100 |',
  '',
  'Start it with:',
  '',
  '```sh',
  'rag serve --port 8000',
  '```',
  '',
  ...Array.from({ length: 14 }, (_, i) => `- Step ${i + 1}: keep reading, the answer goes on [1].`),
  '',
  'That is all [1].',
].join('\n');

/** The text of source `[1]` in a prompt built by `origin/src/answer/prompt.ts`, or ''. */
function firstSourceText(body: unknown): string {
  const messages = (body as { messages?: Array<{ content?: unknown }> }).messages ?? [];
  const lines = String(messages.at(-1)?.content ?? '').split('\n');
  const start = lines.findIndex((line) => line.startsWith('[1] '));
  if (start === -1) return '';
  const fence = lines[start + 1];
  const end = lines.indexOf(fence!, start + 2);
  return lines.slice(start + 2, end === -1 ? undefined : end).join('\n');
}

export interface LlmStub {
  /** The base URL to give the client, ending in `/v1`. */
  url: string;
  /** Every chat-completions request, in arrival order. */
  requests: Array<{ body: unknown; headers: IncomingMessage['headers'] }>;
  /** Responses whose connection the client closed before the response ended. */
  closedConnections(): number;
  close(): Promise<void>;
}

export async function startLlmStub(): Promise<LlmStub> {
  const requests: LlmStub['requests'] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closedByClient = 0;
  let failOnceSeen = false;

  const wait = (ms: number, res: ServerResponse) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve(!res.destroyed);
      }, ms);
      timers.add(timer);
    });

  const server = createServer(async (req, res) => {
    let destroyedByUs = false;
    res.on('close', () => {
      if (!res.writableFinished && !destroyedByUs) closedByClient += 1;
    });
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      sendJson(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
      return;
    }
    const body = await readJson(req);
    requests.push({ body, headers: req.headers });
    const model = String((body as { model?: unknown }).model ?? 'echo');
    const stream = (body as { stream?: unknown }).stream === true;

    if (model === 'hang') return;
    const failsNow = model === 'error-500' || (model === 'fail-once' && !failOnceSeen);
    if (model === 'fail-once') failOnceSeen = true;
    if (failsNow) {
      sendJson(res, 500, {
        error: { message: 'The stub failed on purpose.', type: 'server_error' },
      });
      return;
    }
    if (model === 'error-403-org') {
      sendJson(res, 403, {
        error: {
          message: `Project proj_Secret42 in organization org-AcmeCorp has no access to this model; ask owner@acme-corp.example.`,
          type: 'invalid_request_error',
        },
      });
      return;
    }
    if (model === 'error-401') {
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      sendJson(res, 401, {
        error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error' },
      });
      return;
    }

    const text =
      model === 'cite-7'
        ? STUB_ANSWER_CITE_7
        : model === 'markup'
          ? STUB_ANSWER_MARKUP
          : model === 'link'
            ? STUB_ANSWER_LINK
            : model === 'rich'
              ? STUB_ANSWER_RICH
              : model === 'quote'
                ? `${firstSourceText(body)} [1]`
                : STUB_ANSWER;
    if (!stream) {
      // `rich` rewrites a follow-up as a model would: the conversation's last question, as is.
      if (model === 'rich') {
        sendJson(res, 200, completion(model, lastUserLine(body)));
        return;
      }
      // `quote` rewrites a follow-up as the conversation's questions said together: crude, but
      // it keeps the subject, as a model's rewrite does, so follow-ups are searched sensibly.
      if (model === 'quote') {
        sendJson(res, 200, completion(model, userLines(body).join(' ')));
        return;
      }
      sendJson(res, 200, completion(model, text));
      return;
    }
    const tokens = text.split(/(?=\s)/);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(sse(chunk(model, { role: 'assistant', content: '' }, null)));
    const delay = /^(stall|slow|first)-(\d+)$/.exec(model);
    for (const [i, token] of tokens.entries()) {
      if (model === 'error-midstream' && i === 2) {
        // Let the first tokens reach the client: destroying drops what is still buffered.
        await wait(50, res);
        destroyedByUs = true;
        res.socket?.destroy();
        return;
      }
      const pauseAt = delay?.[1] === 'first' ? i === 0 : delay?.[1] === 'slow' || i === 1;
      const pause = delay && pauseAt ? Number(delay[2]) : 0;
      if (pause > 0 && !(await wait(pause, res))) return;
      if (res.destroyed) return;
      res.write(sse(chunk(model, { content: token }, null)));
    }
    res.write(sse(chunk(model, {}, 'stop')));
    res.end('data: [DONE]\n\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    closedConnections: () => closedByClient,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    return {};
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

function chunk(model: string, delta: Record<string, string>, finishReason: string | null) {
  return {
    id: 'chatcmpl-stub',
    object: 'chat.completion.chunk',
    created: 0,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

function completion(model: string, text: string) {
  return {
    id: 'chatcmpl-stub',
    object: 'chat.completion',
    created: 0,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}

/** The last `user: …` line of the request's last message: the question a condense call rewrites. */
function lastUserLine(body: unknown): string {
  return userLines(body).at(-1) ?? '';
}

/** The reader's questions of a condense prompt ("user: …" lines), or its whole text. */
function userLines(body: unknown): string[] {
  const messages = (body as { messages?: Array<{ content?: unknown }> }).messages ?? [];
  const content = String(messages.at(-1)?.content ?? '');
  const lines = content.split('\n').filter((line) => line.startsWith('user: '));
  return lines.length === 0 ? [content] : lines.map((line) => line.slice('user: '.length));
}
