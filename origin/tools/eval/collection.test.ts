import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectionFormatError, loadCollection } from './collection.js';

const folders: string[] = [];

/** Writes `files` (path → content) into a fresh folder named `name`. */
async function fixture(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'eval-fixture-'));
  folders.push(root);
  const folder = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(folder, path, '..'), { recursive: true });
    await writeFile(join(folder, path), content);
  }
  return folder;
}

afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;

describe('Cranfield', () => {
  const files = {
    'cran.all.1400': [
      '.I 1',
      '.T',
      'wing in a slipstream .',
      '.A',
      'brenckman,m.',
      '.B',
      'j. ae. scs. 25',
      '.W',
      'wing in a slipstream .',
      '  an experimental study of lift .',
      '.I 2',
      '.T',
      'boundary layer heat transfer .',
      '.A',
      'smith',
      '.B',
      'nasa',
      '.W',
      '.I 3',
      '.T',
      'supersonic nozzle .',
      '.A',
      '.B',
      '.W',
      'supersonic nozzle design .',
    ].join('\n'),
    'cran.qry': crlf([
      '.I 001',
      '.W',
      'slipstream lift',
      '.I 002',
      '.W',
      'heat transfer in',
      'boundary layers .',
      '.I 004',
      '.W',
      'nozzle design',
    ]),
    cranqrel: '1 1 2\n1 3 -1\n2 2 1\n3 3 4 \n3 1 5\n',
  };

  it('numbers queries by their position in cran.qry, not by their .I label', async () => {
    const collection = await loadCollection(await fixture('cranfield', files));
    expect(collection.name).toBe('cranfield');
    expect(collection.queries).toEqual([
      { id: '1', text: 'slipstream lift' },
      { id: '2', text: 'heat transfer in\nboundary layers .' },
      { id: '3', text: 'nozzle design' },
    ]);
    expect(collection.qrels.get('3')).toEqual(new Map([['3', 1]]));
    expect(collection.qrels.has('4')).toBe(false);
  });

  it('turns codes 1–4 into gain 5 − code and drops −1 and other codes', async () => {
    const { qrels } = await loadCollection(await fixture('cran', files));
    expect(qrels.get('1')).toEqual(new Map([['1', 3]]));
    expect(qrels.get('2')).toEqual(new Map([['2', 4]]));
    expect(qrels.get('3')?.has('1')).toBe(false);
  });

  it('reads title and abstract, and keeps the title as text when the abstract is empty', async () => {
    const { documents } = await loadCollection(await fixture('cran', files));
    expect(documents).toEqual([
      {
        id: '1',
        title: 'wing in a slipstream .',
        text: 'wing in a slipstream .\nan experimental study of lift .',
      },
      { id: '2', title: 'boundary layer heat transfer .', text: 'boundary layer heat transfer .' },
      { id: '3', title: 'supersonic nozzle .', text: 'supersonic nozzle design .' },
    ]);
  });
});

describe('MEDLINE and other SMART triplets', () => {
  it('reads MEDLINE with CRLF line ends, leading and trailing spaces, and TREC qrels', async () => {
    const folder = await fixture('medline', {
      'MED.ALL': crlf([
        '.I 1',
        '.W',
        ' correlation of maternal glucose .   ',
        '.I 2',
        '.W',
        ' the crystalline lens  ',
        'in vertebrates. ',
      ]),
      'MED.QRY': crlf(['.I 1', '.W', ' the crystalline lens in vertebrates, including humans. ']),
      'MED.REL': crlf(['1 0 2 1', '1 0 1 0']),
    });
    const collection = await loadCollection(folder);
    expect(collection.documents).toEqual([
      { id: '1', title: '', text: 'correlation of maternal glucose .' },
      { id: '2', title: '', text: 'the crystalline lens\nin vertebrates.' },
    ]);
    expect(collection.queries).toEqual([
      { id: '1', text: 'the crystalline lens in vertebrates, including humans.' },
    ]);
    expect(collection.qrels).toEqual(new Map([['1', new Map([['2', 1]])]]));
  });

  it('reads a CISI-style triplet: SMART judgments, zero-padded ids', async () => {
    const folder = await fixture('cisi', {
      'CISI.ALL':
        '.I 1\n.T\nIndexing\n.A\nDoe\n.W\nOn indexing.\n.X\n1 5 1\n.I 2\n.T\nSearching\n.W\nOn search.\n',
      'CISI.QRY': '.I 01\n.W\nhow to index\n',
      'CISI.REL': '     1     2 0 0.000000\n01 1 0 0\n',
    });
    const collection = await loadCollection(folder);
    expect(collection.documents[0]).toEqual({ id: '1', title: 'Indexing', text: 'On indexing.' });
    expect(collection.queries).toEqual([{ id: '1', text: 'how to index' }]);
    expect(collection.qrels.get('1')).toEqual(
      new Map([
        ['2', 1],
        ['1', 1],
      ]),
    );
  });
});

describe('TREC', () => {
  const docs = [
    '<DOC>',
    '<DOCNO> FT911-1 </DOCNO>',
    '<HEADLINE>FT 14 MAY 91 / Oil &amp; gas</HEADLINE>',
    '<TEXT>',
    'Oil prices <P>rose</P> today.',
    '</TEXT>',
    '</DOC>',
    '<DOC>',
    '<DOCNO>FT911-2</DOCNO>',
    '<TEXT>Gas shortage.</TEXT>',
    '<TEXT>Second part.</TEXT>',
    '</DOC>',
  ].join('\n');
  const gz = gzipSync(
    '<DOC><DOCNO>LA-3</DOCNO><TITLE>Wine</TITLE><TEXT>Wine from France</TEXT></DOC>',
  );
  const topics = [
    '<top>',
    '<num> Number: 301',
    '<title> International Organized Crime',
    '',
    '<desc> Description:',
    'Identify criminal organizations.',
    '',
    '<narr> Narrative:',
    'A relevant document…',
    '</top>',
    '<top>',
    '<num> Number: 302 ',
    '<title> Topic: Poliomyelitis',
    '',
    '<desc> Description: Is polio under control?',
    '</top>',
  ].join('\n');
  const qrels = '301 0 FT911-1 1\n301 0 FT911-2 0\n302 0 LA-3 2\n302 0 FT911-2 -1\n';

  it('reads <DOC> files in subfolders (gzipped too), topics and qrels', async () => {
    const folder = await fixture('trec', {
      'docs/ft.txt': docs,
      'docs/la/la.gz': gz,
      'topics.301-302': topics,
      'qrels.301-302.txt': qrels,
    });
    const collection = await loadCollection(folder);
    expect(collection.documents).toEqual([
      { id: 'FT911-1', title: 'FT 14 MAY 91 / Oil & gas', text: 'Oil prices rose today.' },
      { id: 'FT911-2', title: '', text: 'Gas shortage. Second part.' },
      { id: 'LA-3', title: 'Wine', text: 'Wine from France' },
    ]);
    expect(collection.queries).toEqual([
      { id: '301', text: 'International Organized Crime' },
      { id: '302', text: 'Poliomyelitis' },
    ]);
    expect(collection.qrels).toEqual(
      new Map([
        ['301', new Map([['FT911-1', 1]])],
        ['302', new Map([['LA-3', 2]])],
      ]),
    );
  });

  it('adds the description to the title on request', async () => {
    const folder = await fixture('trec', { 'd.txt': docs, 'topics.txt': topics, qrels: qrels });
    const { queries } = await loadCollection(folder, { topicFields: 'title+desc' });
    expect(queries[0]).toEqual({
      id: '301',
      text: 'International Organized Crime Identify criminal organizations.',
    });
  });

  it('reads queries from queries.tsv, skipping a header', async () => {
    const folder = await fixture('tsv', {
      'corpus.trec': docs,
      'queries.tsv': 'qid\ttext\r\nq1\toil prices\r\n\r\nq2\tgas\r\n',
      'qrels.txt': qrels,
    });
    const { queries } = await loadCollection(folder);
    expect(queries).toEqual([
      { id: 'q1', text: 'oil prices' },
      { id: 'q2', text: 'gas' },
    ]);
  });
});

it('names the formats it knows when a folder holds none of them', async () => {
  const folder = await fixture('empty', { 'notes.txt': 'nothing here' });
  await expect(loadCollection(folder)).rejects.toThrow(CollectionFormatError);
  await expect(loadCollection(folder)).rejects.toThrow(/Cranfield, MEDLINE/);
});
