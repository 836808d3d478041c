import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LlmStub, STUB_ANSWER, startLlmStub } from '../../test/llm-stub.js';
import { CitationFilter } from './citations.js';
import { OpenAICompatibleGenerator, type OpenAICompatibleOptions } from './openai-compatible.js';
import { AnswerError, type AnswerRequest } from './types.js';

const API_KEY = 'sk-test-0123456789abcdefSECRET';

let stub: LlmStub;

beforeEach(async () => {
  stub = await startLlmStub();
});

afterEach(async () => {
  await stub.close();
});

function generator(model: string, options: Partial<OpenAICompatibleOptions> = {}) {
  return new OpenAICompatibleGenerator({
    baseUrl: stub.url,
    apiKey: API_KEY,
    model,
    timeoutMs: 2_000,
    maxTokens: 256,
    temperature: 0.1,
    retryDelayMs: 20,
    ...options,
  });
}

function request(signal: AbortSignal = new AbortController().signal): AnswerRequest {
  return {
    question: 'What is the capital of France?',
    sources: [{ n: 1, title: 'France', url: null, headingPath: ['Cities'], text: 'Paris.' }],
    history: [],
    signal,
  };
}

/** The deltas before the stream ended, and the error it ended with, if any. */
async function collect(
  stream: AsyncIterable<string>,
): Promise<{ deltas: string[]; error: unknown }> {
  const deltas: string[] = [];
  try {
    for await (const delta of stream) deltas.push(delta);
    return { deltas, error: undefined };
  } catch (error) {
    return { deltas, error };
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

describe('OpenAICompatibleGenerator.stream', () => {
  it('names itself after the model', () => {
    expect(generator('echo').id).toBe('openai-compatible:echo');
  });

  it('yields every token, in order, as separate deltas', async () => {
    const { deltas, error } = await collect(generator('echo').stream(request()));
    expect(error).toBeUndefined();
    expect(deltas.join('')).toBe(STUB_ANSWER);
    expect(deltas).toEqual(STUB_ANSWER.split(/(?=\s)/));
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]?.body).toMatchObject({
      model: 'echo',
      stream: true,
      max_tokens: 256,
      temperature: 0.1,
      messages: [{ role: 'system' }, { role: 'user' }],
    });
    expect(stub.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('streams a citation of a missing source that the citation filter then drops', async () => {
    const filter = new CitationFilter(request().sources.length);
    let shown = '';
    for await (const delta of generator('cite-7').stream(request())) shown += filter.push(delta);
    shown += filter.end();
    expect(shown).toBe('The tower is in Paris [1]. It was built in 1889.');
    expect(filter.cited()).toEqual([1]);
  });

  it('does not send a request when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { error } = await collect(generator('echo').stream(request(controller.signal)));
    expect((error as Error).name).toBe('AbortError');
    expect(stub.requests).toHaveLength(0);
  });

  it('retries once when the first request fails before any token', async () => {
    const { deltas, error } = await collect(generator('fail-once').stream(request()));
    expect(error).toBeUndefined();
    expect(deltas.join('')).toBe(STUB_ANSWER);
    expect(stub.requests).toHaveLength(2);
  });

  it('fails with upstream_error after the one retry of a server error', async () => {
    const { deltas, error } = await collect(generator('error-500').stream(request()));
    expect(deltas).toEqual([]);
    expect(error).toBeInstanceOf(AnswerError);
    expect((error as AnswerError).code).toBe('upstream_error');
    expect((error as AnswerError).message).toContain('The stub failed on purpose.');
    expect(stub.requests).toHaveLength(2);
  });

  it('never retries once a token was yielded', async () => {
    const { deltas, error } = await collect(generator('error-midstream').stream(request()));
    expect(deltas).toEqual(STUB_ANSWER.split(/(?=\s)/).slice(0, 2));
    expect(error).toBeInstanceOf(AnswerError);
    expect((error as AnswerError).code).toBe('upstream_error');
    expect(stub.requests).toHaveLength(1);
  });

  it('times out a server that never answers, without a retry', async () => {
    const started = Date.now();
    const { error } = await collect(generator('hang', { timeoutMs: 300 }).stream(request()));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((error as AnswerError).code).toBe('upstream_timeout');
    expect(stub.requests).toHaveLength(1);
    expect(await waitFor(() => stub.closedConnections() === 1, 2_000)).toBe(true);
  });

  it('times out a stream that stalls between tokens, keeping what was yielded', async () => {
    const started = Date.now();
    const { deltas, error } = await collect(
      generator('stall-5000', { timeoutMs: 300 }).stream(request()),
    );
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(deltas).toHaveLength(1);
    expect((error as AnswerError).code).toBe('upstream_timeout');
    expect(stub.requests).toHaveLength(1);
  });

  it('does not count a slow consumer against the idle timeout', async () => {
    const deltas: string[] = [];
    for await (const delta of generator('echo', { timeoutMs: 200 }).stream(request())) {
      deltas.push(delta);
      if (deltas.length <= 2) await new Promise((resolve) => setTimeout(resolve, 400));
    }
    expect(deltas.join('')).toBe(STUB_ANSWER);
  });

  it('closes the upstream connection promptly when the signal aborts mid-stream', async () => {
    const controller = new AbortController();
    const deltas: string[] = [];
    const stream = generator('slow-300').stream(request(controller.signal));
    const { error } = await collect(
      (async function* () {
        for await (const delta of stream) {
          deltas.push(delta);
          controller.abort();
          yield delta;
        }
      })(),
    );
    expect(deltas).toHaveLength(1);
    expect((error as Error).name).toBe('AbortError');
    expect(await waitFor(() => stub.closedConnections() === 1, 2_000)).toBe(true);
  });

  it('closes the upstream connection when the consumer stops reading', async () => {
    for await (const _delta of generator('slow-300').stream(request())) break;
    expect(await waitFor(() => stub.closedConnections() === 1, 2_000)).toBe(true);
  });

  it('reports an unreachable server as upstream_unavailable, after one retry', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const { error } = await collect(
      generator('echo', { baseUrl: `http://127.0.0.1:${port}/v1` }).stream(request()),
    );
    expect((error as AnswerError).code).toBe('upstream_unavailable');
  });

  it('never puts the API key in an error message', async () => {
    const refused = await collect(generator('error-401').stream(request()));
    expect((refused.error as AnswerError).code).toBe('upstream_refused');
    expect(stub.requests).toHaveLength(1);
    for (const model of ['error-401', 'error-500', 'hang', 'error-midstream']) {
      const { error } = await collect(generator(model, { timeoutMs: 200 }).stream(request()));
      expect(error).toBeInstanceOf(AnswerError);
      const message = (error as AnswerError).message;
      expect(message).not.toContain(API_KEY);
      expect(message).not.toContain('0123456789abcdef');
      expect(message).not.toMatch(/\n\s+at /);
    }
  });
});

describe('OpenAICompatibleGenerator.condense', () => {
  const history = Array.from({ length: 10 }, (_, i) => ({
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: `turn ${i} ${'x'.repeat(5_000)}`,
  }));

  it('returns the question unchanged, without a request, when there is no history', async () => {
    const signal = new AbortController().signal;
    expect(await generator('echo').condense('What is it?', [], signal)).toBe('What is it?');
    expect(stub.requests).toHaveLength(0);
  });

  it("returns the model's query, asked without streaming from the last six turns", async () => {
    const signal = new AbortController().signal;
    expect(await generator('echo').condense('And its river?', history, signal)).toBe(STUB_ANSWER);
    const body = stub.requests[0]?.body as { stream?: boolean; messages: { content: string }[] };
    expect(body.stream).not.toBe(true);
    const prompt = body.messages.map((message) => message.content).join('\n');
    expect(prompt).not.toContain('turn 3 ');
    expect(prompt).toContain('turn 4 ');
    expect(prompt).toContain('And its river?');
    expect(prompt.length).toBeLessThan(8_000);
  });

  it('falls back to the question when the model fails or hangs', async () => {
    const signal = new AbortController().signal;
    expect(await generator('error-500').condense('And its river?', history, signal)).toBe(
      'And its river?',
    );
    const started = Date.now();
    expect(
      await generator('hang', { timeoutMs: 200 }).condense('And its river?', history, signal),
    ).toBe('And its river?');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
