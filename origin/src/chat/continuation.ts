import type { ChatEvent, ChatEventName, StreamHooks } from './stream-registry.js';

/**
 * The `rewrite` hook of an answer started again after its origin died: the new answer is asked
 * the same question over the same conversation, so it starts with what the reader was sent
 * already. Those events are skipped (the `meta` and `sources` sent, the token text sent), so
 * that the reader gets every token exactly once; the first token that goes past the sent text
 * is cut to what is new. If the new answer says something else than what was sent (a model
 * sampling differently), the stream is `diverged` and ends with a retryable error rather than
 * a reader seeing two different answers spliced together.
 */
export function continuation(sent: readonly ChatEvent[]): NonNullable<StreamHooks['rewrite']> {
  const toSkip = new Map<ChatEventName, number>();
  let text = '';
  for (const event of sent) {
    if (event.event === 'token') text += tokenText(event.data);
    else toSkip.set(event.event, (toSkip.get(event.event) ?? 0) + 1);
  }
  let matched = 0;
  return (event, data) => {
    if (event === 'token') {
      if (matched >= text.length) return { event, data };
      const piece = tokenText(data);
      const rest = text.slice(matched);
      if (rest.startsWith(piece)) {
        matched += piece.length;
        return 'skip';
      }
      if (piece.startsWith(rest)) {
        matched = text.length;
        return { event, data: { ...(data as object), text: piece.slice(rest.length) } };
      }
      return 'diverged';
    }
    const skips = toSkip.get(event) ?? 0;
    if (skips > 0 && event !== 'done' && event !== 'error') {
      toSkip.set(event, skips - 1);
      return 'skip';
    }
    // A shorter answer than the one already sent cannot be the same answer.
    if (event === 'done' && matched < text.length) return 'diverged';
    return { event, data };
  };
}

function tokenText(data: unknown): string {
  const text = (data as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : '';
}
