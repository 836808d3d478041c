import type { ChatEventData } from '../../../contract/stream.js';
import type { ChatEvent, ChatEventName } from './stream-registry.js';

/**
 * The Redis keys of one chat stream. The stream id sits in a hash tag (`{id}`) so that all of
 * them live in one slot and a script may touch them together, on a Redis Cluster too.
 *
 * - `events`: a Redis Stream, one entry per event with the explicit id `0-<sequence>`, so that a
 *   `Last-Event-ID` maps to a stream id without a lookup; the last entry is an `end` marker.
 * - `meta`: a hash of the owner (site, conversation) and the question, for a resume and a takeover.
 * - `lease`: the producing origin's token; it expires when that origin stops renewing it (dies),
 *   and an append is refused unless the writer still holds it (fencing).
 * - `readers`: set while a reader on another origin follows the stream, so that the producer does
 *   not cancel an answer whose reader merely moved.
 */
export function streamKeys(prefix: string, id: string) {
  const base = `${prefix}chat:{${id}}`;
  return {
    events: `${base}:events`,
    meta: `${base}:meta`,
    lease: `${base}:lease`,
    readers: `${base}:readers`,
  };
}

/** The key naming the stream that answers in a conversation now (for a follow-up's check). */
export function conversationKey(prefix: string, siteId: number, conversationId: string): string {
  return `${prefix}chat:conv:${siteId}:${conversationId}`;
}

/** The entry field holding the event name; `end` marks the end of the stream. */
export const END = 'end';

/** The sequence of a Redis Stream entry id `0-<sequence>`. */
export function sequenceOf(entryId: string): number {
  return Number(entryId.slice(entryId.indexOf('-') + 1));
}

/** An entry's flat field list (`e`, `d`, `r`) as a chat event of stream `id`, or `end`. */
export function decodeEntry(
  id: string,
  entryId: string,
  fields: string[],
): ChatEvent | typeof END | null {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!);
  const name = values.get('e');
  if (name === END) return END;
  if (name === undefined) return null;
  // What the producer wrote: an event it emitted, typed by the contract there.
  let data: ChatEventData;
  try {
    data = JSON.parse(values.get('d') ?? 'null') as ChatEventData;
  } catch {
    return null;
  }
  const event: ChatEvent = {
    id: `${id}.${sequenceOf(entryId)}`,
    event: name as ChatEventName,
    data,
  };
  const retry = values.get('r');
  if (retry !== undefined && retry !== '') event.retry = Number(retry);
  return event;
}

/**
 * Appends one entry when the caller holds the lease. KEYS: events, lease, meta. ARGV: token,
 * sequence, max length, running TTL (ms), lease (ms), event name, data, retry. Returns 1, or 0
 * when the lease is someone else's (another origin took the answer over).
 */
export const APPEND = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '0-' .. ARGV[2], 'e', ARGV[6], 'd', ARGV[7], 'r', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`;

/**
 * Appends the end marker, keeps the stream for the retention window and frees the lease.
 * KEYS: events, lease, meta. ARGV: token, sequence, max length, retention (ms).
 */
export const END_STREAM = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '0-' .. ARGV[2], 'e', 'end')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[2])
return 1`;

/** Renews the lease if the caller still holds it. KEYS: lease. ARGV: token, lease (ms). */
export const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * Claims the lease of a stream whose producer let it lapse, when its meta still exists, and
 * counts the claim in the meta's `generation` (the producer's is 1). KEYS: lease, meta. ARGV:
 * token, lease (ms). Returns the new generation, or 0 when the lease is held or the stream gone.
 */
export const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
return redis.call('HINCRBY', KEYS[2], 'generation', 1)`;
