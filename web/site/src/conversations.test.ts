import { describe, expect, it } from 'vitest';
import {
  type Conversation,
  ConversationStore,
  MAX_CONVERSATIONS,
  MAX_MESSAGES,
} from './conversations.js';

function memoryStorage(quota = Number.POSITIVE_INFINITY) {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (key: string) => data.get(key) ?? null,
    setItem: (key: string, value: string) => {
      if (value.length > quota) throw new Error('QuotaExceededError');
      data.set(key, value);
    },
  };
}

const conversation = (n: number, messages = 1): Conversation => ({
  id: `c${n}`,
  title: `Question ${n}`,
  updatedAt: n,
  messages: Array.from({ length: messages }, (_, i) => ({ role: 'user', text: `m${i}` })),
});

describe('ConversationStore', () => {
  it('keeps conversations newest first, one entry per id', () => {
    const store = new ConversationStore('docs', memoryStorage());
    store.save(conversation(1));
    store.save(conversation(2));
    store.save({ ...conversation(1), updatedAt: 3, title: 'Renamed' });
    expect(store.list().map((c) => [c.id, c.title])).toEqual([
      ['c1', 'Renamed'],
      ['c2', 'Question 2'],
    ]);
  });

  it('is bounded in conversations and in messages per conversation', () => {
    const store = new ConversationStore('docs', memoryStorage());
    for (let n = 1; n <= MAX_CONVERSATIONS + 5; n++) store.save(conversation(n));
    const all = store.list();
    expect(all).toHaveLength(MAX_CONVERSATIONS);
    expect(all.at(-1)!.id).toBe('c6');
    store.save(conversation(99, MAX_MESSAGES + 10));
    const kept = store.list()[0]!.messages;
    expect(kept).toHaveLength(MAX_MESSAGES);
    expect(kept.at(-1)!.text).toBe(`m${MAX_MESSAGES + 9}`);
  });

  it('keeps sites apart, and survives corrupt data and a full quota', () => {
    const storage = memoryStorage(2_000);
    const docs = new ConversationStore('docs', storage);
    docs.save(conversation(1));
    expect(new ConversationStore('other', storage).list()).toEqual([]);
    storage.data.set('ragedge:site:docs:conversations', '{not json');
    expect(docs.list()).toEqual([]);
    expect(() => docs.save(conversation(2, 500))).not.toThrow();
  });
});
