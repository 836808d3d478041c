/** One Server-Sent Event as the text/event-stream format defines it. */
export interface SseEvent {
  /** The `id` in force for this event (the last one seen), or '' when none was sent. */
  id: string;
  event: string;
  data: string;
}

/**
 * An incremental text/event-stream parser: feed it decoded text in any chunking, it calls
 * `onEvent` per complete event. Comment lines (`: ping`) and unknown fields are skipped, as the
 * spec says; an event without data lines is not dispatched.
 */
export function createSseParser(onEvent: (event: SseEvent) => void): (text: string) => void {
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let id = '';
  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) onEvent({ id, event: event || 'message', data: data.join('\n') });
      data = [];
      event = '';
      return;
    }
    if (text[0] === ':') return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  };
  return (text) => {
    buffer += text;
    // A chunk may end between the '\r' and '\n' of one line break: keep the '\r' for later.
    const end = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, end).split(/\r\n|\r|\n/);
    buffer = lines.pop()! + buffer.slice(end);
    for (const text of lines) line(text);
  };
}
