import type { RestartAnswer } from '../../chat/stream-registry.js';
import type { ChatTurnInput } from '../../chat/turn.js';
import type { Services } from '../../services.js';

/**
 * How a resume on this origin answers again a question whose origin died: the same turn, on
 * the stream being taken over (which skips what its reader was sent already).
 */
export function restartAnswer(
  services: Services,
  site: ChatTurnInput['site'],
  requestId: string,
): RestartAnswer {
  return (stream, question) => {
    void services.chat.service.runTurn(stream, {
      site,
      conversationId: stream.owner.conversationId,
      message: question,
      requestId,
    });
  };
}
