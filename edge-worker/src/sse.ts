import type { StreamErrorEvent } from '../../contract/stream.js';

const encoder = new TextEncoder();

/**
 * What a chat reader is told when the edge has to end or replace a stream: the contract's `error`
 * event, with the wait in milliseconds like the origin's.
 */
export type StreamError = StreamErrorEvent & {
  code: 'maintenance' | 'origin_unavailable';
  retryAfterMs: number;
};

/**
 * One `error` event framed as the origin frames its events (`event:` then `data:` with JSON on one
 * line). It carries no `id:` on purpose: an event without an id leaves the reader's last event id
 * at the origin's last event, so a reconnect with `Last-Event-ID` resumes the answer at the origin.
 */
export function errorFrame(error: StreamError): string {
  return `event: error\ndata: ${JSON.stringify(error)}\n\n`;
}

/** A whole `text/event-stream` body of one error event. */
export function errorStream(error: StreamError): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(errorFrame(error));
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** An event that ends a chat answer; after it the origin closes the stream on purpose. */
const FINAL_EVENT = /(?:^|\n)event: (?:done|error)\n/;

/**
 * Passes an event stream through chunk by chunk (pull-driven, so nothing is buffered beyond the
 * chunk in hand), and when the origin's stream breaks, or ends without a final `done`/`error`
 * event, appends an `error` event so that the reader sees why instead of a truncated answer.
 */
export function guardEventStream(
  upstream: ReadableStream<Uint8Array>,
  onBreak: () => StreamError,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  // The tail of the text seen so far: enough to find a final event split across two chunks.
  let tail = '';
  let ended = false;
  const end = (controller: ReadableStreamDefaultController<Uint8Array>, broken: boolean) => {
    if (broken || !FINAL_EVENT.test(tail)) {
      controller.enqueue(
        encoder.encode(`${tail.endsWith('\n\n') ? '' : '\n\n'}${errorFrame(onBreak())}`),
      );
    }
    ended = true;
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (ended) return;
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch {
        end(controller, true);
        return;
      }
      if (chunk.done) {
        end(controller, false);
        return;
      }
      tail = (tail + decoder.decode(chunk.value, { stream: true })).slice(-512);
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
