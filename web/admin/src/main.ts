import { ApiError, api, type SiteJson, whenSignedOut } from './api.js';
import type { Page, PageContext } from './context.js';
import { field, h } from './dom.js';
import { documentsPage } from './views/documents.js';
import { healthPage } from './views/health.js';
import { insightsPage } from './views/insights.js';
import { questionsPage } from './views/questions.js';
import { sitesPage } from './views/sites.js';

const PAGES: Record<string, { title: string; render: Page; perSite: boolean }> = {
  sites: { title: 'Sites', render: sitesPage, perSite: false },
  documents: { title: 'Documents', render: documentsPage, perSite: true },
  questions: { title: 'Questions', render: questionsPage, perSite: true },
  insights: { title: 'Insights', render: insightsPage, perSite: true },
  health: { title: 'Health', render: healthPage, perSite: false },
};

const root = document.getElementById('app')!;
const status = document.getElementById('status')!;
let sites: SiteJson[] = [];

function say(message: string, kind: 'ok' | 'error' = 'ok'): void {
  status.textContent = message;
  status.className = `status ${kind}`;
}

/** `#/<page>/<site>`: the page and the site it is about. */
function route(): { page: string; site: string | null } {
  const [page = 'sites', site] = location.hash.replace(/^#\/?/, '').split('/');
  return { page: page in PAGES ? page : 'sites', site: site ? decodeURIComponent(site) : null };
}

function go(page: string, site?: string): void {
  location.hash = `#/${page}${site ? `/${encodeURIComponent(site)}` : ''}`;
}

function signIn(): void {
  document.title = 'Sign in · Admin console';
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h(
      'p',
      {},
      'Paste the admin token. It is exchanged for a session cookie and not kept by this page.',
    ),
    field('Admin token', token),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/admin/session', { token: token.value });
      token.value = '';
      await render();
    } catch (e) {
      token.value = '';
      error.textContent = e instanceof ApiError ? e.message : 'Could not sign in.';
      token.focus();
    }
  });
  document.getElementById('nav')!.hidden = true;
  root.replaceChildren(form);
  token.focus();
}

function nav(current: string, site: string | null): void {
  const list = document.getElementById('nav-list')!;
  list.replaceChildren(
    ...Object.entries(PAGES).map(([page, { title, perSite }]) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: `#/${page}${perSite && site ? `/${encodeURIComponent(site)}` : ''}`,
            'aria-current': page === current ? 'page' : undefined,
          },
          title,
        ),
      ),
    ),
  );
  document.getElementById('nav')!.hidden = false;
}

async function render(): Promise<void> {
  const { session } = await api<{ session: { expiresAt: string } | null }>('GET', '/admin/session');
  if (session === null) {
    signIn();
    return;
  }
  const { page, site: wanted } = route();
  const { title, render: draw, perSite } = PAGES[page]!;
  sites = (await api<{ sites: SiteJson[] }>('GET', '/api/v1/sites')).sites;
  const site = sites.find((s) => s.name === wanted) ?? (perSite ? (sites[0] ?? null) : null);
  nav(page, site?.name ?? wanted);
  document.title = `${title}${site ? ` · ${site.name}` : ''} · Admin console`;
  const heading = h('h1', { tabindex: -1 }, title);
  const picker = perSite && sites.length > 0 ? sitePicker(page, site?.name ?? '') : null;
  const ctx: PageContext = { sites, site, reload: render, say, go };
  let body: Node;
  try {
    body =
      perSite && site === null
        ? h('p', {}, 'No site yet. ', h('a', { href: '#/sites' }, 'Create one'), ' first.')
        : await draw(ctx);
  } catch (e) {
    body = h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
  }
  root.replaceChildren(h('div', { class: 'page-head' }, heading, picker), body);
  heading.focus();
}

function sitePicker(page: string, current: string): HTMLElement {
  const select = h(
    'select',
    { id: 'site-picker' },
    ...sites.map((s) => h('option', { value: s.name, selected: s.name === current }, s.name)),
  );
  select.addEventListener('change', () => go(page, select.value));
  return h('div', { class: 'picker' }, h('label', { for: 'site-picker' }, 'Site'), select);
}

document.getElementById('signout')!.addEventListener('click', async () => {
  await api('DELETE', '/admin/session').catch(() => {});
  say('Signed out.');
  signIn();
});
whenSignedOut(() => {
  say('The session has ended; sign in again.', 'error');
  signIn();
});
window.addEventListener('hashchange', () => {
  say('');
  void render();
});
void render();
