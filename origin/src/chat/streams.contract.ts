import { afterEach, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type {
  ChatEvent,
  ChatStreams,
  Listener,
  ResumedStream,
  StreamLimits,
} from './stream-registry.js';

/** The streams of one origin, and of a second origin sharing its backend when it has one. */
export interface StreamsUnderTest {
  streams: ChatStreams;
  /** Where a resume may also come from; the same registry for the in-process one. */
  elsewhere: ChatStreams;
}

export const contractLimits: StreamLimits = {
  maxStreams: 3,
  maxRetained: 10,
  maxEventsPerStream: 50,
  retentionMs: 5_000,
  detachGraceMs: 300,
};

/** Behaviour every `ChatStreams` must have; run by each implementation's test file. */
export function chatStreamsContract(make: (limits: StreamLimits) => Promise<StreamsUnderTest>) {
  const open: StreamsUnderTest[] = [];
  const build = async (limits: Partial<StreamLimits> = {}) => {
    const made = await make({ ...contractLimits, ...limits });
    open.push(made);
    return made;
  };
  afterEach(async () => {
    for (const made of open.splice(0)) {
      await made.streams.close?.();
      await made.elsewhere.close?.();
    }
  });

  const owner = { siteId: 1, conversationId: '00000000-0000-4000-8000-000000000001' };

  it('sends a reader every event in order, then the end', async () => {
    const { streams } = await build();
    const stream = streams.create(owner, 'q');
    const events = collect((listener) => stream.subscribe(0, listener));
    stream.emit('meta', META);
    for (let i = 1; i <= 5; i++) stream.emit('token', { text: `t${i} ` });
    stream.emit('done', DONE);
    stream.finish();
    const got = await events;
    expect(got.map((event) => event.event)).toEqual(['meta', ...Array(5).fill('token'), 'done']);
    expect(got.map((event) => event.id)).toEqual(got.map((_, i) => `${stream.id}.${i + 1}`));
  });

  it('resumes after an event: what followed, then the live events, each once', async () => {
    const { streams, elsewhere } = await build();
    const stream = streams.create(owner, 'q');
    for (let i = 1; i <= 4; i++) stream.emit('token', { text: `${i} ` });
    await settle();
    const resumed = await mustResume(elsewhere, `${stream.id}.2`, owner.siteId);
    const events = collect(resumed.subscribe);
    await settle();
    for (let i = 5; i <= 7; i++) stream.emit('token', { text: `${i} ` });
    stream.emit('done', DONE);
    stream.finish();
    const got = await events;
    expect(got.map((event) => event.id)).toEqual(
      [3, 4, 5, 6, 7, 8].map((n) => `${stream.id}.${n}`),
    );
    expect(text(got)).toBe('3 4 5 6 7 ');
  });

  it('resumes a finished answer within the retention window, then ends', async () => {
    const { streams, elsewhere } = await build();
    const stream = streams.create(owner, 'q');
    for (let i = 1; i <= 3; i++) stream.emit('token', { text: `${i} ` });
    stream.emit('done', DONE);
    stream.finish();
    await settle();
    const resumed = await mustResume(elsewhere, `${stream.id}.1`, owner.siteId);
    const got = await collect(resumed.subscribe);
    expect(text(got)).toBe('2 3 ');
    expect(got.at(-1)?.event).toBe('done');
  });

  it('knows no stream by a bad id, another site or another conversation', async () => {
    const { streams, elsewhere } = await build();
    const stream = streams.create(owner, 'q');
    stream.emit('token', { text: 'a' });
    await settle();
    for (const registry of [streams, elsewhere]) {
      expect(await registry.resume('nonsense', 1)).toBeNull();
      expect(await registry.resume('AAAAAAAAAAAA.1', 1)).toBeNull();
      expect(await registry.resume(`${stream.id}.1`, 2)).toBeNull();
      expect(
        await registry.resume(`${stream.id}.1`, 1, '00000000-0000-4000-8000-000000000002'),
      ).toBeNull();
      expect(await registry.resume(`${stream.id}.1`, 1, owner.conversationId)).not.toBeNull();
    }
    stream.finish();
  });

  it('holds a conversation while its answer runs, not after', async () => {
    const { streams, elsewhere } = await build();
    const stream = streams.create(owner, 'q');
    await settle();
    expect(await streams.holds(1, owner.conversationId)).toBe(true);
    expect(await elsewhere.holds(1, owner.conversationId)).toBe(true);
    expect(await streams.holds(2, owner.conversationId)).toBe(false);
    stream.finish();
    await settle();
    expect(await streams.holds(1, owner.conversationId)).toBe(false);
    expect(await elsewhere.holds(1, owner.conversationId)).toBe(false);
  });

  it('refuses a new answer past the running cap with a 503, finished ones making room', async () => {
    const { streams } = await build({ maxStreams: 2 });
    const first = streams.create(owner, 'q');
    streams.create(owner, 'q');
    expect(() => streams.create(owner, 'q')).toThrow(
      expect.objectContaining({ code: 'overloaded' }),
    );
    first.finish();
    expect(streams.running).toBe(1);
    expect(() => streams.ensureRoom()).not.toThrow();
  });

  it('cancels an answer whose reader left for the grace period', async () => {
    const { streams } = await build({ detachGraceMs: 100 });
    const stream = streams.create(owner, 'q');
    const detach = stream.subscribe(0, () => {});
    detach();
    await until(() => stream.signal.aborted, 3_000);
    expect(stream.signal.aborted).toBe(true);
  });

  it('refuses to resume from an event it no longer keeps (conflict)', async () => {
    const { streams, elsewhere } = await build({ maxEventsPerStream: 5 });
    const stream = streams.create(owner, 'q');
    for (let i = 1; i <= 8; i++) stream.emit('token', { text: `${i}` });
    await settle();
    for (const registry of [streams, elsewhere]) {
      await expect(registry.resume(`${stream.id}.1`, 1)).rejects.toSatisfy(
        (error) => error instanceof AppError && error.code === 'conflict',
      );
    }
    stream.finish();
  });
}

/** A `meta` event's data, as the contract has it. */
export const META = {
  requestId: 'test',
  conversationId: '00000000-0000-4000-8000-000000000001',
  cache: 'miss' as const,
};

/** A `done` event's data, as the contract has it. */
export const DONE = { finishReason: 'stop' as const, latencyMs: 1, tokens: 1, cited: [] };

/** The resume of `eventId`, failing the test when there is none. */
export async function mustResume(
  streams: ChatStreams,
  eventId: string,
  siteId: number,
): Promise<ResumedStream> {
  const resumed = await streams.resume(eventId, siteId);
  expect(resumed).not.toBeNull();
  return resumed!;
}

/** Every event a subscription sends until the end (bounded: fails after `timeoutMs`). */
export function collect(
  subscribe: (listener: Listener) => () => void,
  timeoutMs = 10_000,
): Promise<ChatEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ChatEvent[] = [];
    const timer = setTimeout(() => {
      detach();
      reject(new Error(`stream did not end in ${timeoutMs} ms; got ${events.length} events`));
    }, timeoutMs);
    const detach = subscribe((event) => {
      if (event !== null) {
        events.push(event);
        return;
      }
      clearTimeout(timer);
      resolve(events);
    });
  });
}

/** The token text of `events`. */
export function text(events: ChatEvent[]): string {
  return events
    .filter((event) => event.event === 'token')
    .map((event) => (event.data as { text: string }).text)
    .join('');
}

/** Lets queued writes (to Redis) land: a short pause, the same for both implementations. */
export function settle(ms = 150): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check()` holds, polling, at most `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await settle(20);
}
