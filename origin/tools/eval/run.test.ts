import { describe, expect, it } from 'vitest';
import { parseEvalArgs } from './cli.js';
import { documentUrl } from './ingest-collection.js';
import { progressTicker } from './progress.js';
import { formatReport } from './report.js';
import { type EvalReport, toRanking } from './run.js';

describe('toRanking', () => {
  const ingested = {
    byUrl: new Map([
      [documentUrl('cran', '1'), '1'],
      [documentUrl('cran', '2'), '2'],
      [documentUrl('cran', '3'), '3'],
    ]),
    byDocumentId: new Map([['30', '3']]),
  };

  it('turns chunks into documents by first occurrence, through their url or document id', () => {
    const hits = [
      { documentId: '20', url: documentUrl('cran', '2') },
      { documentId: '10', url: documentUrl('cran', '1') },
      { documentId: '20', url: documentUrl('cran', '2') },
      { documentId: '30', url: null },
      { documentId: '99', url: 'https://elsewhere.example/' },
    ];
    expect(toRanking(hits, ingested, 100)).toEqual(['2', '1', '3']);
    expect(toRanking(hits, ingested, 2)).toEqual(['2', '1']);
  });

  it('gives every collection document a unique url, whatever its id', () => {
    expect(documentUrl('my set', 'FT911-1/a')).toBe('https://eval.local/my%20set/FT911-1%2Fa');
  });
});

describe('formatReport', () => {
  const scores = {
    ndcg10: 0.36,
    map: 0.29,
    recall100: 0.72,
    mrr: 0.54,
    evaluated: 225,
    skipped: 0,
  };
  const report: EvalReport = {
    collection: 'cranfield',
    documents: 1400,
    queries: 225,
    k: 100,
    ingestion: { stored: 1399, failed: 1, seconds: 12.34, refused: [{ id: '7', reason: 'NUL' }] },
    rows: [
      {
        label: 'BM25 reference',
        scores,
        ratioToBm25: 1,
        failedQueries: 0,
        meanTookMs: null,
        error: null,
      },
      {
        label: 'hybrid',
        scores: { ...scores, ndcg10: 0.45 },
        ratioToBm25: 1.25,
        failedQueries: 2,
        meanTookMs: 31.25,
        error: 'search: HTTP 400',
      },
      {
        label: 'vector only',
        scores: null,
        ratioToBm25: null,
        failedQueries: 0,
        meanTookMs: null,
        error: 'search: HTTP 404',
      },
    ],
  };

  it('prints one aligned row per run with its ratio to BM25, then the errors', () => {
    const text = formatReport(report);
    expect(text).toContain('225 evaluated, 0 skipped');
    expect(text).toContain('1399 documents stored, 1 refused, 12.3 s\n  refused 7: NUL');
    expect(text).toMatch(/BM25 reference\s+0\.3600\s+0\.2900\s+0\.7200\s+0\.5400\s+1\.00×\s+-/);
    expect(text).toMatch(/hybrid\s+0\.4500 .* 1\.25×\s+31\.3/);
    expect(text).toMatch(/vector only\s+n\/a\s+n\/a\s+n\/a\s+n\/a\s+n\/a\s+-/);
    expect(text).toContain('hybrid: 2 queries failed; search: HTTP 400');
    expect(text).toContain('vector only: search: HTTP 404');
  });
});

describe('parseEvalArgs', () => {
  it('reads the folder and the options, with defaults', () => {
    expect(parseEvalArgs(['data/cran'])).toMatchObject({
      folder: 'data/cran',
      k: 100,
      embedder: 'hash',
    });
    expect(
      parseEvalArgs([
        'data/cran',
        '--queries',
        '20',
        '--k',
        '50',
        '--json',
        'out.json',
        '--database-url',
        'postgres://x/y',
      ]),
    ).toMatchObject({ queries: 20, k: 50, json: 'out.json', databaseUrl: 'postgres://x/y' });
    expect(parseEvalArgs(['--help'])).toBe('help');
  });

  it('refuses bad values naming the option', () => {
    expect(() => parseEvalArgs([])).toThrow(/one folder/);
    expect(() => parseEvalArgs(['f', '--k', '500'])).toThrow(/--k/);
    expect(() => parseEvalArgs(['f', '--queries', '0'])).toThrow(/--queries/);
    expect(() => parseEvalArgs(['f', '--embedder', 'gpt'])).toThrow(/--embedder/);
  });
});

it('reports progress at most once per 10%', () => {
  const lines: string[] = [];
  const tick = progressTicker('queries', 225, (line) => lines.push(line));
  for (let i = 0; i < 225; i += 1) tick();
  expect(lines).toHaveLength(10);
  expect(lines.at(-1)).toMatch(/^queries: 225\/225 \(100%/);
});
