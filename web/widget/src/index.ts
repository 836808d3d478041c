import { type Source, streamChat } from '../../shared/chat.js';
import { textOn } from '../../shared/contrast.js';
import { renderMarkdown, safeHref } from '../../shared/markdown.js';
import { PALETTE, parseColor, widgetCss } from './theme.js';

/**
 * The embeddable chat: `<script src="https://<host>/widget.js" data-site="<public key>" async>`
 * (or `data-site="<site name>" data-key="<public key>"`). It renders into a shadow root, styles itself with a
 * constructed stylesheet and builds every node with DOM APIs, so it runs under a strict CSP and
 * neither the host page nor the answers can inject markup into it.
 */

const MAX_BUBBLES = 100;

const script = (document.currentScript ??
  document.querySelector('script[data-site][src*="widget.js"]')) as HTMLScriptElement | null;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value !== undefined) node.setAttribute(name, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function store(key: string, value?: string): string | null {
  try {
    if (value !== undefined) sessionStorage.setItem(key, value);
    return sessionStorage.getItem(key);
  } catch {
    return null; // storage blocked (sandboxed frame, privacy mode): the chat still works
  }
}

function mount(tag: HTMLScriptElement): void {
  const data = tag.dataset;
  const site = data.site ?? '';
  // `data-site` may be the public key itself (the one-attribute embed); the API takes either.
  const key = data.key ?? (site.startsWith('pk_') ? site : '');
  const endpoint = `${new URL(tag.src).origin}/api/v1/sites/${encodeURIComponent(site)}/chat`;
  const title = data.title ?? 'Ask a question';
  const accent = parseColor(data.color) ?? PALETTE.accent;
  const target = data.target ? document.querySelector(data.target) : null;
  const inline = target !== null;
  const storeKey = `ragedge:${site}:conversation`;

  const host = document.createElement('ragedge-chat');
  if (inline) host.className = 'inline';
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(widgetCss(accent, textOn(accent), data.position === 'left'));
  root.adoptedStyleSheets = [sheet];

  const launcher = h('button', {
    class: 'launcher',
    type: 'button',
    'aria-label': `Open chat: ${title}`,
    'aria-expanded': 'false',
    'aria-controls': 'panel',
  });
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const bubble = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  bubble.setAttribute(
    'd',
    'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z',
  );
  svg.append(bubble);
  launcher.append(svg);
  const panel = h('div', {
    class: 'panel',
    id: 'panel',
    role: inline ? 'region' : 'dialog',
    'aria-labelledby': 'title',
  });
  if (!inline) panel.setAttribute('aria-modal', 'true');
  const header = h('header');
  header.append(h('h2', { id: 'title' }, title));
  const close = h('button', { type: 'button', 'aria-label': 'Close chat' }, '\u00d7');
  if (!inline) header.append(close);
  const log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', tabindex: '0' });
  log.setAttribute('aria-label', 'Conversation');
  if (data.greeting) log.append(h('div', { class: 'msg bot' }, data.greeting));
  const form = h('form');
  const input = h('textarea', {
    'aria-label': 'Your question',
    placeholder: 'Ask a question…',
    maxlength: '4000',
    rows: '1',
  });
  const send = h('button', { type: 'submit' }, 'Send');
  form.append(input, send);
  panel.append(header, log, form);
  root.append(panel);
  if (inline) {
    target.append(host);
  } else {
    panel.hidden = true;
    root.append(launcher);
    document.body.append(host);
  }

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    if (open) input.focus();
    else launcher.focus();
  };
  launcher.addEventListener('click', () => setOpen(panel.hidden));
  close.addEventListener('click', () => setOpen(false));
  panel.addEventListener('keydown', (event) => {
    if (inline) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      setOpen(false);
    } else if (event.key === 'Tab') {
      // The dialog is modal: focus cycles through its own controls only.
      const items = [close, log, input, send].filter(
        (item) => !(item as HTMLButtonElement).disabled,
      );
      const first = items[0]!;
      const last = items[items.length - 1]!;
      const active = root.activeElement;
      if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (message === '' || busy) return;
    input.value = '';
    void ask(message);
  });

  async function ask(message: string): Promise<void> {
    busy = true;
    send.disabled = true;
    log.append(h('div', { class: 'msg user' }, message));
    const bubble = h('div', { class: 'msg bot' });
    const body = h('div', { class: 'answer' });
    const status = h('p', { class: 'status' }, 'Thinking…');
    bubble.append(body, status);
    log.append(bubble);
    // A page left open all day keeps only its recent exchanges in the DOM.
    while (log.childElementCount > MAX_BUBBLES) log.firstElementChild!.remove();
    log.setAttribute('aria-busy', 'true');
    let text = '';
    let sources: Source[] = [];
    let frame = 0;
    const hrefOf = (n: number) => safeHref(sources.find((s) => s.n === n)?.url);
    const paint = () => {
      frame = 0;
      body.replaceChildren(renderMarkdown(document, text, hrefOf));
      log.scrollTop = log.scrollHeight;
    };
    await streamChat(
      {
        url: endpoint,
        key,
        message,
        conversationId: store(storeKey) ?? undefined,
        signal: new AbortController().signal,
      },
      {
        meta: (meta) => {
          if (meta.conversationId) store(storeKey, meta.conversationId);
        },
        sources: (list) => {
          sources = list;
        },
        token: (piece) => {
          status.remove();
          text += piece;
          frame ||= requestAnimationFrame(paint);
        },
        restart: () => {
          text = '';
          sources = [];
          frame ||= requestAnimationFrame(paint);
        },
        done: () => {
          status.remove();
          if (sources.length > 0) {
            const list = h('ol', { class: 'sources', 'aria-label': 'Sources' });
            for (const source of sources) {
              const item = h('li', { value: String(source.n) });
              const url = safeHref(source.url);
              const label = source.title || url || `Source ${source.n}`;
              item.append(
                url === null
                  ? label
                  : h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, label),
              );
              list.append(item);
            }
            bubble.append(list);
          }
        },
        fail: (failure) => {
          status.className = 'status error';
          status.textContent = failure.message;
          bubble.append(status);
        },
      },
    );
    cancelAnimationFrame(frame);
    paint();
    log.setAttribute('aria-busy', 'false');
    busy = false;
    send.disabled = false;
  }
}

if (script?.dataset.site) {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => mount(script));
  } else {
    mount(script);
  }
}
