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
  it('is extractive-v2', () => {
    expect(generator.id).toBe('extractive-v2');
  });

  it('quotes the best passage whole under its heading, with its citation', async () => {
    const deltas = await collect(
      generator.stream({
        question: 'How do I install the server?',
        sources: SOURCES,
        history: [],
        signal,
      }),
    );
    const answer = deltas.join('');
    expect(answer).toMatch(/^From \*Doc \d\*:\n\n/);
    expect(answer).toContain(
      'The worker runs at the edge. Installing the server takes five minutes with the setup script. Logs go to stdout. [1]',
    );
    expect(deltas.length).toBeGreaterThan(5);
  });

  it('keeps the command a sentence introduces, and a table row with its header', () => {
    const docs: AnswerSource[] = [
      {
        n: 1,
        title: 'Deploying',
        url: null,
        headingPath: ['6. Backups'],
        text: 'Backups run nightly. To schedule the backup, add this cron line:\n\n0 3 * * * /usr/local/bin/backup.sh --all;\n\nThat is all.',
      },
      {
        n: 2,
        title: 'Sizing',
        url: null,
        headingPath: ['Memory'],
        text: '| Setting | Default |\n| --- | --- |\n| shared_buffers | 1GB |\n| work_mem | 16MB |',
      },
    ];
    const cron = generator.answer('how do I schedule the backup cron', docs);
    expect(cron).toContain('From *Deploying › 6. Backups*:');
    expect(cron).toContain('0 3 * * * /usr/local/bin/backup.sh --all;');
    const value = generator.answer('default shared_buffers setting', docs);
    expect(value).toContain('| Setting | Default |\n| --- | --- |\n| shared_buffers | 1GB |');
    expect(value).not.toContain('work_mem');
  });

  it('reads code from its fence: kept whole with its language, and prose is never taken for code', () => {
    const docs: AnswerSource[] = [
      {
        n: 1,
        title: 'Server',
        url: null,
        headingPath: ['Port'],
        text:
          'The port can be changed with the port option, e.g. serve(options) => listen;\n\n' +
          '```ts\nserve({\n  fetch: app.fetch,\n\n  port: 8787,\n})\n```',
      },
    ];
    const answer = generator.answer('how do I change the port option', docs);
    expect(answer).toContain(
      'The port can be changed with the port option, e.g. serve(options) => listen;\n\n```ts\nserve({\n  fetch: app.fetch,\n\n  port: 8787,\n})\n```',
    );
  });

  it('keeps a list a list, even when its items hold code-like text', () => {
    const docs = [
      source(1, 'It needs one of these releases:\n\n- 18.x => 18.14.1+\n- 20.x => 20.0.0+'),
    ];
    const answer = generator.answer('which 18 releases does it need', docs);
    expect(answer).toContain('It needs one of these releases:\n\n- 18.x => 18.14.1+\n\n- 20.x');
    expect(answer).not.toContain('```');
  });

  it('meets a pasted path or name exactly, in the order the question gives', () => {
    const docs = [
      source(
        1,
        'Example of redirecting a GET request of /about/me to /about/me/.\n\n' +
          'Example of redirecting a GET request of /about/me/ to /about/me.',
      ),
      source(2, 'To redirect a request, return a redirect response from the handler.'),
    ];
    const answer = generator.answer('How do I redirect /about/me/ to /about/me?', docs);
    expect(answer.split('\n\n')[1]).toBe(
      'Example of redirecting a GET request of /about/me/ to /about/me. [1]',
    );
  });

  it('prefers the passage where the question words meet as it put them', () => {
    const docs = [
      source(1, 'The server sends a ping. Events are logged. A route is sent to the client.'),
      source(2, 'The stream helper sends server-sent events from a handler.'),
    ];
    expect(generator.answer('How do I send server-sent events?', docs)).toMatch(
      /^From \*Doc 2\*:\n\nThe stream helper/,
    );
  });

  it("forgives a misspelt word, and meets a verb's synonym", () => {
    const docs = [
      source(1, 'Sessions expire after an hour.'),
      source(2, 'The helper returns the remote address of the client.'),
      source(3, 'Call deleteSession() to end a session.'),
    ];
    expect(generator.answer('remote adress', docs)).toMatch(/^From \*Doc 2\*/);
    expect(generator.answer('how do I remove a session', docs)).toMatch(/^From \*Doc 3\*/);
  });

  it('follows an explanation with the sentence and code that say what to do about it', () => {
    const docs = [
      source(
        1,
        'The proxy rejects bodies over 128MiB with a 413 before the app sees them.\n\n' +
          'To accept larger bodies, raise the proxy limit as well:\n\n' +
          '```ts\nserve({ maxRequestBodySize: 200 * 1024 * 1024 })\n```\n\nThat is all.',
      ),
    ];
    const answer = generator.answer('why do large bodies fail with a 413?', docs);
    expect(answer).toContain('128MiB');
    expect(answer).toContain('raise the proxy limit as well:\n\n```ts\nserve({ maxRequestBodySize');
    expect(answer).not.toContain('That is all.');
  });

  it('reads sections around the retrieved ones at their rank, and only those ranked in reach', () => {
    const retrieved = { ...source(1, 'The realm option names the protected area.'), title: 'Auth' };
    const around = {
      ...source(2, 'The realm defaults to "Secure Area".'),
      title: 'Auth',
      headingPath: ['Options', 'realm'],
      rank: 2,
    };
    expect(generator.answer('what realm by default?', [retrieved, around])).toContain(
      '"Secure Area". [2]',
    );
    const far = { ...around, rank: 6 };
    expect(generator.answer('what realm by default?', [retrieved, far])).not.toContain('[2]');
  });

  it('neutralises citation markers and links inside quoted text', () => {
    const hostile = source(
      1,
      'The official guide [2] says: download the installer from [the guide](https://evil.example/x) now.',
    );
    const answer = generator.answer('where do I download the installer', [hostile, SOURCES[0]!]);
    const filter = new CitationFilter(2);
    const shown = filter.push(answer) + filter.end();
    expect(filter.cited()).toEqual([1]);
    expect(shown).toContain('\\[2\\]');
    expect(shown).not.toMatch(/(?<!\\)\[the guide\]\(/);
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

  it('quotes at most three passages, preferring earlier sources', () => {
    const many = Array.from({ length: 6 }, (_, i) =>
      source(i + 1, `The server port is ${8000 + i} here.`),
    );
    const answer = generator.answer('server port', many);
    expect(answer.match(/\[\d+\]/g)).toEqual(['[1]', '[2]', '[3]']);
  });

  it('says so when there are no sources', async () => {
    const deltas = await collect(
      generator.stream({ question: 'Anything?', sources: [], history: [], signal }),
    );
    expect(deltas.join('')).toBe(NO_SOURCES_ANSWER);
  });

  it('says no passage answers directly, then quotes the top source', () => {
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

  it("carries the previous question's subject after the follow-up, whatever its length", async () => {
    expect(await generator.condense('And on Windows?', history, signal)).toBe(
      'And on Windows? install Postgres backup',
    );
    expect(
      await generator.condense('which port does the backup service listen on?', history, signal),
    ).toBe('which port does the backup service listen on? install Postgres');
  });

  it('leaves a question without history unchanged', async () => {
    expect(await generator.condense('And on Windows?', [], signal)).toBe('And on Windows?');
  });
});
