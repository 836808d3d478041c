import { act } from '../act.js';
import { api, type SiteJson, sitePath } from '../api.js';
import type { PageContext } from '../context.js';
import { field, h } from '../dom.js';

const lines = (text: string) =>
  text
    .split(/\s+/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

/** Sites: the list, a form to create one, and the chosen site's settings and embed snippet. */
export async function sitesPage(ctx: PageContext): Promise<Node> {
  const table = h(
    'table',
    {},
    h('caption', { class: 'sr' }, 'Sites'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Site', 'Title', 'Documents', 'Chunks', ''].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      ...ctx.sites.map((s) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, s.name),
          h('td', {}, s.title),
          h('td', { class: 'num' }, s.documentCount ?? 0),
          h('td', { class: 'num' }, s.chunkCount ?? 0),
          h(
            'td',
            {},
            h('a', { href: `#/sites/${encodeURIComponent(s.name)}` }, `Settings of ${s.name}`),
          ),
        ),
      ),
    ),
  );
  const chosen = ctx.sites.find((s) => location.hash === `#/sites/${encodeURIComponent(s.name)}`);
  return h(
    'div',
    { class: 'stack' },
    ctx.sites.length === 0 ? h('p', {}, 'No sites yet.') : table,
    createForm(ctx),
    chosen === undefined ? null : settings(ctx, chosen),
  );
}

function createForm(ctx: PageContext): HTMLElement {
  const name = h('input', {
    name: 'name',
    required: true,
    pattern: '[a-z0-9]([a-z0-9\\-]*[a-z0-9])?',
    maxlength: 63,
  });
  const title = h('input', { name: 'title', maxlength: 500 });
  const origins = h('textarea', { name: 'origins', rows: 2 });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'Create a site'),
    field('Name', name, 'Lowercase letters, digits and dashes; it names the site in URLs.'),
    field('Title', title),
    field(
      'Allowed origins',
      origins,
      'Pages that may embed the widget, one origin per line (https://example.com).',
    ),
    h('button', { type: 'submit' }, 'Create site'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void act(ctx, `Created site ${name.value}.`, async () => {
      await api('POST', '/api/v1/sites', {
        name: name.value,
        ...(title.value.trim() ? { title: title.value } : {}),
        allowedOrigins: lines(origins.value),
      });
      ctx.go('sites', name.value);
    });
  });
  return form;
}

function settings(ctx: PageContext, site: SiteJson): HTMLElement {
  const title = h('input', { value: site.title, maxlength: 500, required: true });
  const origins = h('textarea', { rows: 3 });
  origins.value = site.allowedOrigins.join('\n');
  const handoff = h('input', {
    type: 'url',
    value: site.settings.handoffUrl ?? '',
    placeholder: 'https://example.com/contact or mailto:help@example.com',
  });
  const webhook = h('input', {
    type: 'url',
    value: site.settings.webhookUrl ?? '',
    placeholder: 'https://example.com/hooks/rag',
  });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, `Settings of ${site.name}`),
    field('Title', title),
    field('Allowed origins', origins, 'One origin per line.'),
    field(
      'Hand-off link',
      handoff,
      'Offered to readers when an answer is refused or voted down (https: or mailto:).',
    ),
    field(
      'Webhook',
      webhook,
      'Receives unanswered questions and downvotes, signed with the secret below.',
    ),
    site.settings.webhookUrl ? webhookSecret(site.name) : null,
    h('button', { type: 'submit' }, 'Save settings'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void act(ctx, `Saved ${site.name}.`, () =>
      api('PATCH', sitePath(site.name), {
        title: title.value,
        allowedOrigins: lines(origins.value),
        settings: {
          handoffUrl: handoff.value.trim() || null,
          webhookUrl: webhook.value.trim() || null,
        },
      }),
    );
  });
  const rotate = h('button', { type: 'button', class: 'danger' }, 'Rotate public key');
  rotate.addEventListener('click', () => {
    if (
      !confirm(
        `Rotate the public key of ${site.name}? Widgets embedded with the old key stop working.`,
      )
    )
      return;
    void act(
      ctx,
      `Rotated the public key of ${site.name}; update the embed snippet on your pages.`,
      () => api('PATCH', sitePath(site.name), { rotatePublicKey: true }),
    );
  });
  const snippet = h('textarea', { readonly: true, rows: 3, id: 'embed-snippet', class: 'code' });
  snippet.value = `<script src="${location.origin}/widget.js" data-site="${site.name}" data-key="${site.publicKey}" async></script>`;
  const copy = h('button', { type: 'button' }, 'Copy snippet');
  copy.addEventListener('click', async () => {
    snippet.select();
    await navigator.clipboard?.writeText(snippet.value).catch(() => {});
    ctx.say('Snippet copied.');
  });
  return h(
    'div',
    { class: 'stack' },
    form,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'embed-title' },
      h('h2', { id: 'embed-title' }, 'Embed the widget'),
      h('p', {}, 'Public key: ', h('code', { id: 'public-key' }, site.publicKey)),
      field('Snippet for your pages', snippet),
      h('div', { class: 'row' }, copy, rotate),
    ),
  );
}

/** The secret that signs the site's webhook deliveries, fetched only when a webhook is set. */
function webhookSecret(site: string): HTMLElement {
  const code = h('code', {}, '…');
  void api<{ webhook: { secret: string } }>('GET', sitePath(site, '/webhook')).then(
    ({ webhook }) => {
      code.textContent = webhook.secret;
    },
  );
  return h('p', { class: 'hint' }, 'Webhook secret: ', code);
}
