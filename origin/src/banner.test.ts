import { describe, expect, it } from 'vitest';
import { type BannerFacts, renderBanner } from './banner.js';
import { UPGRADE_HINT } from './models/offer.js';

const facts: BannerFacts = {
  version: '1.2.3',
  url: 'http://127.0.0.1:8000',
  database: 'pglite',
  dataDir: './data',
  sites: [
    { name: 'demo', publicKey: 'pk_aaaaaaaaaaaaaaaaaaaaaaaa', embedder: 'hash-v1' },
    { name: 'handbook', publicKey: 'pk_bbbbbbbbbbbbbbbbbbbbbbbb', embedder: null },
  ],
  totalSites: 2,
  chatServed: true,
  admin: { file: 'data/admin-token', source: 'generated' },
  embedder: 'hash-v1',
};

describe('the start banner', () => {
  it('names each site with its chat address, the token file and the next command', () => {
    const text = renderBanner(facts);
    expect(text).toContain(
      'ragedge 1.2.3 is ready at http://127.0.0.1:8000 (embedded database in ./data)',
    );
    expect(text).toContain(
      'Chat with demo:     http://127.0.0.1:8000/s/demo?key=pk_aaaaaaaaaaaaaaaaaaaaaaaa',
    );
    expect(text).toContain(
      'Chat with handbook: http://127.0.0.1:8000/s/handbook?key=pk_bbbbbbbbbbbbbbbbbbbbbbbb',
    );
    expect(text).toContain('Admin token:        generated now in data/admin-token');
    expect(text).toContain(`Embeddings:         offline hash embedder; ${UPGRADE_HINT}`);
    expect(text).toContain('Next:               open a chat address above');
    expect(text.split('\n').length).toBeLessThan(12);
    expect(text).not.toContain('reindex --site demo');
  });

  it('says a token was read, not generated, and counts the sites it does not list', () => {
    const text = renderBanner({
      ...facts,
      admin: { file: 'data/admin-token', source: 'file' },
      totalSites: 9,
      embedder: 'transformers:Xenova/paraphrase-multilingual-MiniLM-L12-v2:q8',
    });
    expect(text).toContain('Admin token:        in data/admin-token');
    expect(text).not.toContain('generated');
    expect(text).toContain('and 7 more: npm run rag -- sites');
    expect(text).toContain(
      'Embeddings:         model Xenova/paraphrase-multilingual-MiniLM-L12-v2:q8',
    );
    expect(text).not.toContain(UPGRADE_HINT);
    // The demo site was indexed with the offline embedder before the model came.
    expect(text).toContain(
      'Chat with demo:     http://127.0.0.1:8000/s/demo?key=pk_aaaaaaaaaaaaaaaaaaaaaaaa\n                      indexed with hash-v1: npm run rag -- reindex --site demo\n  Chat with handbook:',
    );
  });

  it('points at the edge when it serves the chat, and at ingest when there is no site', () => {
    const text = renderBanner({
      ...facts,
      sites: [],
      totalSites: 0,
      chatServed: false,
      admin: { file: null, source: 'environment' },
      database: 'postgres',
    });
    expect(text).toContain('(PostgreSQL at DATABASE_URL)');
    expect(text).toContain('served by the edge');
    expect(text).toContain('from ADMIN_TOKEN');
    expect(text).toContain('Next:        npm run rag -- ingest <folder> --site <name>');
  });
});
