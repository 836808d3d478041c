import { describe, expect, it } from 'vitest';
import { CitationFilter } from './citations.js';
import { ExtractiveGenerator, NO_DIRECT_ANSWER, NO_SOURCES_ANSWER } from './extractive.js';
import type { AnswerSource } from './types.js';

const generator = new ExtractiveGenerator();
const signal = new AbortController().signal;

function source(n: number, text: string): AnswerSource {
  return { n, title: `Doc ${n}`, url: null, headingPath: [], text };
}

const SOURCES = [
  source(
    1,
    'The worker runs at the edge. Installing the server takes five minutes with the setup script. Logs go to stdout.',
  ),
  source(2, 'Bread is baked in a hot oven.\nThe server install needs Node 20 and PostgreSQL 16.'),
  source(3, 'Installing the server takes five minutes with the setup script.'),
];

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

describe('ExtractiveGenerator', () => {
  it('is extractive-v1', () => {
    expect(generator.id).toBe('extractive-v1');
  });

  it('quotes the sentences that share words with the question, each with its citation', async () => {
    const deltas = await collect(
      generator.stream({
        question: 'How do I install the server?',
        sources: SOURCES,
        history: [],
        signal,
      }),
    );
    const answer = deltas.join('');
    expect(answer).toBe(
      'Installing the server takes five minutes with the setup script. [1] The server install needs Node 20 and PostgreSQL 16. [2]',
    );
    expect(answer).not.toContain('Bread');
    expect(deltas.length).toBeGreaterThan(5);
  });

  it('cites only sources it was given, so the citation filter removes nothing', async () => {
    const question = 'server setup logs edge oven';
    const answer = (
      await collect(generator.stream({ question, sources: SOURCES, history: [], signal }))
    ).join('');
    const filter = new CitationFilter(SOURCES.length);
    expect(filter.push(answer) + filter.end()).toBe(answer);
    expect(filter.cited().length).toBeGreaterThan(0);
    for (const [, n] of answer.matchAll(/\[(\d+)\]/g)) {
      expect(SOURCES.map((s) => s.n)).toContain(Number(n));
    }
  });

  it('keeps at most four sentences, preferring earlier sources', () => {
    const many = Array.from({ length: 6 }, (_, i) =>
      source(i + 1, `The server port is ${8000 + i} here.`),
    );
    const answer = generator.answer('server port', many);
    expect(answer.match(/\[\d+\]/g)).toEqual(['[1]', '[2]', '[3]', '[4]']);
  });

  it('says so when there are no sources', async () => {
    const deltas = await collect(
      generator.stream({ question: 'Anything?', sources: [], history: [], signal }),
    );
    expect(deltas.join('')).toBe(NO_SOURCES_ANSWER);
  });

  it('says no sentence answers directly, then quotes the top source', () => {
    const answer = generator.answer('quantum chromodynamics', SOURCES);
    expect(answer.startsWith(NO_DIRECT_ANSWER)).toBe(true);
    expect(answer).toContain('[1]');
    expect(answer).not.toContain('[2]');
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    const stream = generator.stream({
      question: 'install server',
      sources: SOURCES,
      history: [],
      signal: controller.signal,
    });
    const deltas: string[] = [];
    await expect(async () => {
      for await (const delta of stream) {
        deltas.push(delta);
        controller.abort();
      }
    }).rejects.toThrow();
    expect(deltas).toHaveLength(1);
  });
});

describe('ExtractiveGenerator.condense', () => {
  const history = [
    { role: 'user' as const, content: 'How do I install the Postgres backup?' },
    { role: 'assistant' as const, content: 'Run the backup script [1].' },
  ];

  it('prepends the previous question to a follow-up', async () => {
    expect(await generator.condense('And on Windows?', history, signal)).toBe(
      'install postgres backup And on Windows?',
    );
    expect(await generator.condense('what about restoring it', history, signal)).toBe(
      'install postgres backup what about restoring it',
    );
  });

  it('does not repeat words the follow-up already has', async () => {
    expect(await generator.condense('And the backup schedule?', history, signal)).toBe(
      'install postgres And the backup schedule?',
    );
  });

  it('leaves a standalone question, or one without history, unchanged', async () => {
    const standalone = 'How do I configure the edge worker cache?';
    expect(await generator.condense(standalone, history, signal)).toBe(standalone);
    expect(await generator.condense('And on Windows?', [], signal)).toBe('And on Windows?');
  });
});
