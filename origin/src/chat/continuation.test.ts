import { describe, expect, it } from 'vitest';
import { continuation } from './continuation.js';
import type { ChatEvent } from './stream-registry.js';
import { META } from './streams.contract.js';

const sent: ChatEvent[] = [
  { id: 's.1', event: 'meta', data: META },
  { id: 's.2', event: 'sources', data: { sources: [] } },
  { id: 's.3', event: 'token', data: { text: 'Paris is' } },
  { id: 's.4', event: 'token', data: { text: ' the' } },
];

describe('continuation of an answer taken over', () => {
  it('skips what was sent and cuts the token that goes past it', () => {
    const rewrite = continuation(sent);
    expect(rewrite('meta', META)).toBe('skip');
    expect(rewrite('sources', { sources: [] })).toBe('skip');
    expect(rewrite('token', { text: 'Paris ' })).toBe('skip');
    expect(rewrite('token', { text: 'is the cap' })).toEqual({
      event: 'token',
      data: { text: ' cap' },
    });
    expect(rewrite('token', { text: 'ital.' })).toEqual({
      event: 'token',
      data: { text: 'ital.' },
    });
    expect(rewrite('done', { messageId: 3 })).toEqual({ event: 'done', data: { messageId: 3 } });
  });

  it('says diverged when the new answer differs from what was sent, or is shorter', () => {
    expect(continuation(sent)('token', { text: 'Lyon' })).toBe('diverged');
    const shorter = continuation(sent);
    expect(shorter('token', { text: 'Paris' })).toBe('skip');
    expect(shorter('done', {})).toBe('diverged');
  });

  it('passes an error through: it is news, not a repeat', () => {
    expect(continuation(sent)('error', { code: 'x' })).toEqual({
      event: 'error',
      data: { code: 'x' },
    });
  });
});
