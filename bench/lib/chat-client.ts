/**
 * A chat client for benchmarks: asks one question over real HTTP and reads the SSE answer to its
 * end, noting the time to the first `token` event. Shared by `bench/chat.ts` and `bench/memory.ts`.
 */
import { ADMIN_TOKEN } from '../../origin/test/harness.js';

export interface StreamResult {
  ttftMs: number | null;
  completed: boolean;
  cache: string | null;
  /** The HTTP status, then the `error` event's code when the stream ended in one. */
  outcome: string;
}

/** Asks `message` of `site` (default `bench`) with the admin token, reading the whole stream. */
export async function ask(
  base: string,
  message: string,
  options: { site?: string; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<StreamResult> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${base}/api/v1/sites/${options.site ?? 'bench'}/chat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'content-type': 'application/json',
        ...options.headers,
      },
      body: JSON.stringify({ message }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 300_000),
    });
  } catch (error) {
    // Counted, not thrown: a connection the server dropped is a stream that did not complete.
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { ttftMs: null, completed: false, cache: null, outcome: `no response: ${cause}` };
  }
  if (response.status !== 200 || response.body === null) {
    const code = /"code":"(\w+)"/.exec(await response.text())?.[1];
    return { ttftMs: null, completed: false, cache: null, outcome: `${response.status} ${code}` };
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ttftMs: number | null = null;
  let completed = false;
  let cache: string | null = null;
  let errorCode: string | null = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    if (ttftMs === null && buffer.includes('event: token')) ttftMs = performance.now() - started;
    if (cache === null) cache = /"cache":"(\w+)"/.exec(buffer)?.[1] ?? null;
    if (buffer.includes('event: done')) completed = true;
    errorCode ??= /event: error\ndata: \{"code":"(\w+)"/.exec(buffer)?.[1] ?? null;
    if (buffer.length > 4096) buffer = buffer.slice(-1024);
  }
  const outcome = completed ? '200 done' : `200 ${errorCode ?? 'ended without done'}`;
  return { ttftMs, completed, cache, outcome };
}

/** Streams asked and completed, with p50 and p99 of the time to first token. */
export function stats(results: StreamResult[]) {
  const times = results
    .map((r) => r.ttftMs)
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]! * 10) / 10;
  const outcomes: Record<string, number> = {};
  for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  return {
    streams: results.length,
    completed: results.filter((r) => r.completed).length,
    outcomes,
    ttftP50Ms: at(50),
    ttftP99Ms: at(99),
  };
}
