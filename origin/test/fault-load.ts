/**
 * A steady trickle of requests against a running origin, for fault tests: every answer (or
 * failure to get one) is recorded with when it was sent and how long it took, so a test can
 * check what readers saw before, during and after a fault.
 */
export interface Outcome {
  path: string;
  sentAt: number;
  ms: number;
  /** 0 when no HTTP answer came at all (connection refused, or the timeout passed). */
  status: number;
  retryAfter: string | null;
  body: unknown;
  failure?: string;
}

export interface Load {
  outcomes: Outcome[];
  /** Stops sending and waits for the answers still due. */
  stop(): Promise<Outcome[]>;
}

/** Sends one of `requests` (round robin) every `everyMs`, each bounded by `timeoutMs`. */
export function startLoad(
  baseUrl: string,
  requests: Array<{ path: string; init?: RequestInit }>,
  options: { everyMs?: number; timeoutMs?: number; headers?: Record<string, string> } = {},
): Load {
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  let n = 0;
  const send = async () => {
    const { path, init } = requests[n % requests.length]!;
    n += 1;
    const sentAt = performance.now();
    try {
      const response = await fetch(`${baseUrl}${path}`, {
        ...init,
        headers: { ...options.headers, ...(init?.headers as Record<string, string>) },
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // an SSE stream or plain text: kept as text
      }
      outcomes.push({
        path,
        sentAt,
        ms: performance.now() - sentAt,
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body,
      });
    } catch (error) {
      outcomes.push({
        path,
        sentAt,
        ms: performance.now() - sentAt,
        status: 0,
        retryAfter: null,
        body: null,
        failure: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    }
  };
  const timer = setInterval(() => {
    const request = send();
    pending.add(request);
    void request.finally(() => pending.delete(request));
  }, options.everyMs ?? 100);
  return {
    outcomes,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return outcomes;
    },
  };
}
