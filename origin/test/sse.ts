/** One parsed Server-Sent Event, or a comment line (`: ping`). */
export interface SseItem {
  id?: string;
  event?: string;
  data?: unknown;
  comment?: string;
  /** The `retry:` field: how long an EventSource waits before it reconnects. */
  retry?: number;
  at: number;
}

/**
 * Reads a text/event-stream body as it arrives, calling `onItem` per event or comment, until the
 * stream ends, `stop` returns true, or `timeoutMs` passes (then the reader is cancelled).
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  options: { timeoutMs?: number; stop?: (item: SseItem, all: SseItem[]) => boolean } = {},
): Promise<SseItem[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const items: SseItem[] = [];
  let buffer = '';
  const timer = setTimeout(() => void reader.cancel(), options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const item: SseItem = { at: performance.now() };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) item.comment = line.slice(1).trim();
          else if (line.startsWith('id: ')) item.id = line.slice(4);
          else if (line.startsWith('event: ')) item.event = line.slice(7);
          else if (line.startsWith('data: ')) item.data = JSON.parse(line.slice(6));
          else if (line.startsWith('retry: ')) item.retry = Number(line.slice(7));
        }
        items.push(item);
        if (options.stop?.(item, items) === true) {
          await reader.cancel();
          return items;
        }
        end = buffer.indexOf('\n\n');
      }
    }
    return items;
  } finally {
    clearTimeout(timer);
  }
}

/** The concatenated text of the `token` events. */
export function answerText(items: SseItem[]): string {
  return items
    .filter((item) => item.event === 'token')
    .map((item) => (item.data as { text: string }).text)
    .join('');
}
