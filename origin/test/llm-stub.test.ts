import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LlmStub, STUB_ANSWER, STUB_ANSWER_CITE_7, startLlmStub } from './llm-stub.js';

let stub: LlmStub;

beforeEach(async () => {
  stub = await startLlmStub();
});

afterEach(async () => {
  await stub.close();
});

function post(body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${stub.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: signal ?? AbortSignal.timeout(5_000),
  });
}

/** The `choices[0].delta.content` of every SSE chunk, and whether `[DONE]` ended the stream. */
async function readStream(response: Response): Promise<{ tokens: string[]; done: boolean }> {
  const events = (await response.text()).split('\n\n').filter(Boolean);
  const done = events.at(-1) === 'data: [DONE]';
  const tokens = events
    .filter((event) => event !== 'data: [DONE]')
    .map((event) => JSON.parse(event.replace(/^data: /, '')).choices[0].delta.content)
    .filter((content): content is string => Boolean(content));
  return { tokens, done };
}

describe('startLlmStub', () => {
  it('streams the answer word by word as SSE chunks ending in [DONE]', async () => {
    const response = await post({ model: 'echo', stream: true, messages: [] });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const { tokens, done } = await readStream(response);
    expect(tokens.join('')).toBe(STUB_ANSWER);
    expect(tokens.length).toBeGreaterThan(5);
    expect(done).toBe(true);
    expect(stub.requests).toEqual([
      { body: { model: 'echo', stream: true, messages: [] }, headers: expect.any(Object) },
    ]);
  });

  it('answers whole JSON without stream, and cites [7] for cite-7', async () => {
    const response = await post({ model: 'cite-7', messages: [] });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(STUB_ANSWER_CITE_7);
  });

  it('holds only the first token back for first-<ms>', async () => {
    const started = performance.now();
    const response = await post({ model: 'first-300', stream: true, messages: [] });
    const reader = response.body!.getReader();
    const arrivals: number[] = [];
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.includes('"content":"Paris') && arrivals.length === 0) {
        arrivals.push(performance.now() - started);
      }
    }
    arrivals.push(performance.now() - started);
    expect(arrivals[0]).toBeGreaterThanOrEqual(290);
    // The rest follows at once: the whole answer ends well before a second pause could pass.
    expect(arrivals[1]! - arrivals[0]!).toBeLessThan(250);
    expect(text).toContain('[DONE]');
  });

  it('fails with 500 on error-500, and only on the first request for fail-once', async () => {
    expect((await post({ model: 'error-500', stream: true })).status).toBe(500);
    expect((await post({ model: 'fail-once', stream: true })).status).toBe(500);
    const second = await post({ model: 'fail-once', stream: true });
    expect(second.status).toBe(200);
    expect((await readStream(second)).tokens.join('')).toBe(STUB_ANSWER);
  });

  it('breaks the stream after two tokens on error-midstream', async () => {
    const response = await post({ model: 'error-midstream', stream: true });
    await expect(response.text()).rejects.toThrow();
    expect(stub.closedConnections()).toBe(0);
  });

  it('counts a connection the client closes before the response ends', async () => {
    const controller = new AbortController();
    const response = await post({ model: 'slow-200', stream: true }, controller.signal);
    expect(response.status).toBe(200);
    controller.abort();
    const deadline = Date.now() + 2_000;
    while (stub.closedConnections() === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(stub.closedConnections()).toBe(1);
  });

  it('closes promptly while a request hangs', async () => {
    const pending = post({ model: 'hang', stream: true }).catch((error: unknown) => error);
    const deadline = Date.now() + 2_000;
    while (stub.requests.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const started = Date.now();
    await stub.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
