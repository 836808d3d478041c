import type { Done, Source } from '../../shared/chat.js';

/** One message of a stored conversation. */
export interface StoredMessage {
  role: 'user' | 'bot';
  text: string;
  sources?: Source[];
  /** How the answer ended: its cited sources, refusal, and feedback handle. */
  done?: Done;
  /** The question this answer is for (for the hand-off and share links). */
  question?: string;
  /** Shown under an answer that did not complete (stopped, failed). */
  note?: string;
}

/** A conversation kept in this browser. */
export interface Conversation {
  id: string;
  /** The origin's conversation id, for follow-up questions. */
  serverId?: string;
  title: string;
  updatedAt: number;
  messages: StoredMessage[];
}

/** Bounds that keep localStorage well under its quota (about 5 MB per origin). */
export const MAX_CONVERSATIONS = 30;
export const MAX_MESSAGES = 60;
const MAX_TEXT = 20_000;

/** The conversations of one site in localStorage, newest first, bounded. */
export class ConversationStore {
  private readonly key: string;

  constructor(
    site: string,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'>,
  ) {
    this.key = `ragedge:site:${site}:conversations`;
  }

  list(): Conversation[] {
    try {
      const value = JSON.parse(this.storage.getItem(this.key) ?? '[]') as unknown;
      return Array.isArray(value) ? (value as Conversation[]) : [];
    } catch {
      return []; // corrupt or foreign data: start afresh rather than break the page
    }
  }

  save(conversation: Conversation): void {
    const trimmed: Conversation = {
      ...conversation,
      title: conversation.title.slice(0, 120),
      messages: conversation.messages
        .slice(-MAX_MESSAGES)
        .map((m) => ({ ...m, text: m.text.slice(0, MAX_TEXT) })),
    };
    const others = this.list().filter((c) => c.id !== conversation.id);
    const all = [trimmed, ...others]
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, MAX_CONVERSATIONS);
    try {
      this.storage.setItem(this.key, JSON.stringify(all));
    } catch {
      // quota full or storage blocked: the conversation still works, it just is not kept
    }
  }
}
