import type { RestartAnswer } from '../../chat/streams.js';
import { runChatTurn } from '../../chat/turn.js';
import type { Services } from '../../context.js';
import type { siteOfRoute } from '../../middleware/reader-access.js';

/**
 * How a resume on this origin answers again a question whose origin died: the same turn, on
 * the stream being taken over (which skips what its reader was sent already).
 */
export function restartAnswer(
  services: Services,
  site: Awaited<ReturnType<typeof siteOfRoute>>,
  requestId: string,
): RestartAnswer {
  return (stream, question) => {
    void runChatTurn(
      stream,
      { site, conversationId: stream.owner.conversationId, message: question, requestId },
      services.chat.deps,
    );
  };
}
