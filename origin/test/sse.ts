import { ChatStreamEvent } from '../../contract/stream.js';

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
 * stream ends, `stop` returns true, or `timeoutMs` passes (then the reader is cancelled). Every
 * event is parsed with the contract's `ChatStreamEvent` schema, so that each test reading a chat
 * stream also checks what the origin (or the edge) sent against the contract; `contract: false`
 * is only for streams of a stand-in origin that sends events of its own.
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  options: {
    timeoutMs?: number;
    stop?: (item: SseItem, all: SseItem[]) => boolean;
    contract?: boolean;
  } = {},
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
        if (options.contract !== false && item.event !== undefined) {
          checkEvent(item);
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
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Throws, naming the event and the first problem, when `item` is not an event of the contract. */
function checkEvent(item: SseItem): void {
  const parsed = ChatStreamEvent.safeParse({ event: item.event, data: item.data });
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  throw new Error(
    `the ${item.event} event breaks the contract at ${issue.path.join('.') || '(root)'}: ${issue.message} (${JSON.stringify(item.data)})`,
  );
}

/** The concatenated text of the `token` events. */
export function answerText(items: SseItem[]): string {
  return items
    .filter((item) => item.event === 'token')
    .map((item) => (item.data as { text: string }).text)
    .join('');
}
