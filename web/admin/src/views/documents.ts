import { act } from '../act.js';
import { ApiError, api, sitePath } from '../api.js';
import type { PageContext } from '../context.js';
import { field, h, when } from '../dom.js';

interface DocumentJson {
  id: number;
  title: string;
  source: string;
  format: string;
  status: string;
  chunkCount: number;
  byteSize: number;
  updatedAt: string;
}

interface Hit {
  title: string;
  headingPath: string[];
  text: string;
  url: string | null;
}

/** Documents of a site: list and filter, content search, upload, delete, re-index. */
export async function documentsPage(ctx: PageContext): Promise<Node> {
  const site = ctx.site!;
  const { documents } = await api<{ documents: DocumentJson[] }>(
    'GET',
    sitePath(site.name, '/documents?limit=500'),
  );
  const filter = h('input', { type: 'search', placeholder: 'Title or source' });
  const body = h('tbody');
  const draw = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = documents.filter(
      (d) => needle === '' || `${d.title} ${d.source}`.toLowerCase().includes(needle),
    );
    body.replaceChildren(
      ...shown.map((d) => {
        const remove = h(
          'button',
          { type: 'button', class: 'danger small', 'aria-label': `Delete ${d.title}` },
          'Delete',
        );
        remove.addEventListener('click', async () => {
          if (!confirm(`Delete "${d.title}"?`)) return;
          await act(ctx, `Deleted ${d.title}.`, () =>
            api('DELETE', sitePath(site.name, `/documents/${d.id}`)),
          );
        });
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, d.title),
          h('td', { class: 'wrap' }, d.source),
          h('td', {}, d.format),
          h('td', {}, d.status),
          h('td', { class: 'num' }, d.chunkCount),
          h('td', {}, when(d.updatedAt)),
          h('td', {}, remove),
        );
      }),
    );
  };
  filter.addEventListener('input', draw);
  draw();
  return h(
    'div',
    { class: 'stack' },
    uploadForm(ctx),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'docs-title' },
      h('h2', { id: 'docs-title' }, `${documents.length} documents`),
      field('Filter the list', filter),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {},
          h('caption', { class: 'sr' }, `Documents of ${site.name}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Title', 'Source', 'Format', 'Status', 'Chunks', 'Updated', ''].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          body,
        ),
      ),
    ),
    searchForm(ctx),
    reindex(ctx),
  );
}

function uploadForm(ctx: PageContext): HTMLElement {
  const files = h('input', {
    type: 'file',
    multiple: true,
    accept: '.md,.markdown,.txt,.html,.htm,.pdf',
    required: true,
  });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload documents'),
    field('Files', files, 'Markdown, text, HTML or PDF; all of them are stored, or none.'),
    h('button', { type: 'submit' }, 'Upload'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData();
    for (const file of files.files ?? []) data.append('file', file, file.name);
    void act(ctx, `Uploaded ${files.files?.length ?? 0} file(s).`, () =>
      api('POST', sitePath(ctx.site!.name, '/documents'), data),
    );
  });
  return form;
}

function searchForm(ctx: PageContext): HTMLElement {
  const query = h('input', { type: 'search', required: true, maxlength: 1000 });
  const results = h('ol', { class: 'hits', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card', role: 'search', 'aria-labelledby': 'search-title' },
    h('h2', { id: 'search-title' }, 'Search the content'),
    field('What readers might ask', query),
    h('button', { type: 'submit' }, 'Search'),
    results,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { results: hits } = await api<{ results: Hit[] }>(
        'POST',
        sitePath(ctx.site!.name, '/search'),
        {
          query: query.value,
          k: 5,
        },
      );
      results.replaceChildren(
        ...hits.map((hit) =>
          h(
            'li',
            {},
            h('strong', {}, [hit.title, ...hit.headingPath].join(' › ')),
            h('p', {}, hit.text.slice(0, 300)),
          ),
        ),
      );
      if (hits.length === 0) results.replaceChildren(h('li', {}, 'Nothing found.'));
    } catch (e) {
      ctx.say(e instanceof ApiError ? e.message : 'Search failed.', 'error');
    }
  });
  return form;
}

function reindex(ctx: PageContext): HTMLElement {
  const button = h('button', { type: 'button' }, 'Re-index the site');
  button.addEventListener('click', () => {
    button.disabled = true;
    void act(ctx, `Re-indexed ${ctx.site!.name}.`, () =>
      api('POST', sitePath(ctx.site!.name, '/reindex')),
    ).finally(() => {
      button.disabled = false;
    });
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'reindex-title' },
    h('h2', { id: 'reindex-title' }, 'Re-index'),
    h('p', {}, 'Re-embeds every chunk with the embedder this server runs (after changing models).'),
    button,
  );
}
