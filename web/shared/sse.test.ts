import { describe, expect, it } from 'vitest';
import { createSseParser, type SseEvent } from './sse.js';

function parseAll(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const push = createSseParser((event) => events.push(event));
  for (const chunk of chunks) push(chunk);
  return events;
}

const STREAM =
  'id: abcdefghijkl.1\nevent: meta\ndata: {"conversationId":"c1"}\n\n' +
  ': ping\n\n' +
  'id: abcdefghijkl.2\nevent: token\ndata: {"text":"Hello "}\n\n' +
  'id: abcdefghijkl.3\nevent: done\ndata: {"finishReason":"stop"}\n\n';

describe('createSseParser', () => {
  it('reads the origin chat stream: ids, event names, data, and skips ping comments', () => {
    expect(parseAll([STREAM])).toEqual([
      { id: 'abcdefghijkl.1', event: 'meta', data: '{"conversationId":"c1"}' },
      { id: 'abcdefghijkl.2', event: 'token', data: '{"text":"Hello "}' },
      { id: 'abcdefghijkl.3', event: 'done', data: '{"finishReason":"stop"}' },
    ]);
  });

  it('gives the same events whatever the chunking, down to one character at a time', () => {
    const whole = parseAll([STREAM]);
    expect(parseAll(STREAM.split(''))).toEqual(whole);
    expect(parseAll([STREAM.slice(0, 37), STREAM.slice(37, 90), STREAM.slice(90)])).toEqual(whole);
  });

  it('accepts CRLF and CR line breaks, even split between two chunks', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    const expected = parseAll([STREAM]);
    expect(parseAll([crlf])).toEqual(expected);
    expect(parseAll(crlf.split(/(?<=\r)/))).toEqual(expected);
    // A trailing lone '\r' waits for the next chunk to tell whether a '\n' follows it.
    expect(parseAll([STREAM.replace(/\n/g, '\r'), ': ping\r'])).toEqual(expected);
  });

  it('joins multi-line data with newlines and defaults the event name to message', () => {
    expect(parseAll(['data: one\ndata:two\n\n'])).toEqual([
      { id: '', event: 'message', data: 'one\ntwo' },
    ]);
  });

  it('keeps the last id for later events, and dispatches nothing for an event without data', () => {
    expect(parseAll(['id: s.1\nevent: token\n\nevent: token\ndata: x\n\n'])).toEqual([
      { id: 's.1', event: 'token', data: 'x' },
    ]);
  });

  it('holds an unfinished event until its blank line arrives', () => {
    const events: SseEvent[] = [];
    const push = createSseParser((event) => events.push(event));
    push('event: token\ndata: {"text":"a"}\n');
    expect(events).toHaveLength(0);
    push('\n');
    expect(events).toHaveLength(1);
  });
});
