import { answerTools, maker, sourcesList } from '../../shared/answer.js';
import {
  type ChatFailure,
  type Done,
  fetchConfig,
  type SiteConfig,
  type Source,
  sendFeedback,
  streamChat,
} from '../../shared/chat.js';
import { textOn } from '../../shared/contrast.js';
import { isRtl, pickLang, type StringKey, t } from '../../shared/i18n.js';
import { answerLinks, renderMarkdown } from '../../shared/markdown.js';
import { PALETTE, parseColor, widgetCss } from './theme.js';

/**
 * The embeddable chat: `<script src="https://<host>/widget.js" data-site="<public key>" async>`
 * (or `data-site="<site name>" data-key="<public key>"`). It renders into a shadow root, styles itself with a
 * constructed stylesheet and builds every node with DOM APIs, so it runs under a strict CSP and
 * neither the host page nor the answers can inject markup into it.
 *
 * Options: `data-theme` (light, dark, auto), `data-lang`, `data-suggestions` ("a|b|c"),
 * `data-title`, `data-greeting`, `data-color`, `data-position="left"`, `data-target` (inline).
 */

const MAX_BUBBLES = 100;

const script = (document.currentScript ??
  document.querySelector('script[data-site][src*="widget.js"]')) as HTMLScriptElement | null;

const h = maker(document);

function store(key: string, value?: string | null): string | null {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else if (value !== undefined) sessionStorage.setItem(key, value);
    return sessionStorage.getItem(key);
  } catch {
    return null; // storage blocked (sandboxed frame, privacy mode): the chat still works
  }
}

/** What to tell the reader for a failure, in their language. */
export function failureText(lang: string, failure: ChatFailure): string {
  if (failure.detail) return failure.detail;
  return t(lang, failure.kind, failure.kind === 'limited' ? (failure.retryAfter ?? 30) : undefined);
}

function mount(tag: HTMLScriptElement): void {
  const data = tag.dataset;
  const site = data.site ?? '';
  // `data-site` may be the public key itself (the one-attribute embed); the API takes either.
  const key = data.key ?? (site.startsWith('pk_') ? site : '');
  const base = new URL(tag.src).origin;
  const accent = parseColor(data.color) ?? PALETTE.accent;
  const target = data.target ? document.querySelector(data.target) : null;
  const inline = target !== null;
  const storeKey = `ragedge:${site}:conversation`;
  const candidates = [data.lang, document.documentElement.lang];
  let lang = pickLang([...candidates, navigator.language]);
  let config: SiteConfig | null = null;
  let suggestions = data.suggestions?.split('|').filter((s) => s.trim() !== '') ?? [];

  const host = document.createElement('ragedge-chat');
  if (inline) host.className = 'inline';
  const theme = data.theme;
  if (theme === 'light' || theme === 'dark') host.setAttribute('data-theme', theme);
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(widgetCss(accent, textOn(accent), data.position === 'left'));
  root.adoptedStyleSheets = [sheet];

  // Words that follow the language: re-applied if the site's setting decides it later.
  const labels: Array<[Element, string | null, StringKey]> = [];
  const label = <E extends Element>(node: E, key: StringKey, attr: string | null = null): E => {
    labels.push([node, attr, key]);
    return node;
  };
  const relabel = () => {
    for (const [node, attr, key] of labels) {
      if (attr === null) node.textContent = t(lang, key);
      else node.setAttribute(attr, t(lang, key));
    }
    panel.lang = lang;
    panel.dir = isRtl(lang) ? 'rtl' : 'ltr';
  };

  const launcher = label(
    h('button', {
      class: 'launcher',
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': 'panel',
    }),
    'open',
    'aria-label',
  );
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
  const heading = h('h2', { id: 'title' });
  const setTitle = () => {
    heading.textContent = data.title ?? config?.title ?? t(lang, 'title');
  };
  const fresh = label(h('button', { type: 'button', class: 'new' }, '+'), 'newChat', 'aria-label');
  const close = label(
    h('button', { type: 'button', class: 'close' }, '\u00d7'),
    'close',
    'aria-label',
  );
  header.append(heading, fresh);
  if (!inline) header.append(close);
  const log = label(
    h('div', { class: 'log', role: 'log', 'aria-live': 'polite', tabindex: '0' }),
    'conversation',
    'aria-label',
  );
  const notice = h('p', { class: 'notice', role: 'status', hidden: '' });
  const form = h('form');
  const input = label(
    label(h('textarea', { maxlength: '4000', rows: '1' }), 'question', 'aria-label'),
    'placeholder',
    'placeholder',
  );
  const send = label(h('button', { type: 'submit' }), 'send');
  const stop = label(h('button', { type: 'button', class: 'stop', hidden: '' }), 'stop');
  form.append(input, send, stop);
  panel.append(header, log, notice, form);
  root.append(panel);
  relabel();
  setTitle();
  if (inline) {
    target.append(host);
  } else {
    panel.hidden = true;
    root.append(launcher);
    document.body.append(host);
  }

  const showNotice = (text: string | null, error = false) => {
    notice.hidden = text === null;
    notice.textContent = text ?? '';
    notice.className = error ? 'notice error' : 'notice';
  };

  /** Suggested questions, shown while the conversation is empty. */
  const showSuggestions = () => {
    log.querySelector('.suggest')?.remove();
    if (log.querySelector('.user') || suggestions.length === 0) return;
    const list = label(h('div', { class: 'suggest', role: 'group' }), 'suggested', 'aria-label');
    for (const question of suggestions.slice(0, 8)) {
      const b = h('button', { type: 'button' }, question);
      b.addEventListener('click', () => void ask(question));
      list.append(b);
    }
    log.append(list);
  };

  const greet = () => {
    if (data.greeting) log.append(h('div', { class: 'msg bot' }, data.greeting));
  };
  greet();

  // The site's config on load: its title, suggestions, hand-off link, language, and whether this
  // page may use it at all. An unreachable assistant is said so, and tried again with backoff.
  void fetchConfig(base, site, key, () => showNotice(t(lang, 'retrying'))).then((result) => {
    if ('kind' in result) {
      showNotice(failureText(lang, result), true);
      if (result.kind === 'forbidden') input.disabled = send.disabled = true;
      return;
    }
    showNotice(null);
    config = result;
    const chosen = pickLang([...candidates, result.lang, navigator.language]);
    if (chosen !== lang) {
      lang = chosen;
      relabel();
    }
    setTitle();
    if (suggestions.length === 0) suggestions = result.suggestions;
    showSuggestions();
  });

  const setOpen = (open: boolean) => {
    panel.hidden = !open;
    host.classList.toggle('open', open);
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
      // The dialog is modal: focus cycles through its own visible, enabled controls only.
      const items = [
        ...panel.querySelectorAll<HTMLElement>('button,textarea,a[href],summary,.log'),
      ].filter((item) => !(item as HTMLButtonElement).disabled && item.getClientRects().length > 0);
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

  let controller: AbortController | null = null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (message === '' || controller !== null) return;
    input.value = '';
    void ask(message);
  });
  stop.addEventListener('click', () => controller?.abort());
  fresh.addEventListener('click', () => {
    controller?.abort();
    store(storeKey, null);
    log.replaceChildren();
    greet();
    showSuggestions();
    input.focus();
  });

  async function ask(message: string): Promise<void> {
    const abort = new AbortController();
    controller = abort;
    send.hidden = true;
    stop.hidden = false;
    log.querySelector('.suggest')?.remove();
    const question = h('div', { class: 'msg user', dir: 'auto' }, message);
    const bubble = h('div', { class: 'msg bot' });
    const body = h('div', { class: 'answer', dir: 'auto' });
    const status = h('p', { class: 'status' }, t(lang, 'thinking'));
    bubble.append(body, status);
    log.append(question, bubble);
    // A page left open all day keeps only its recent exchanges in the DOM.
    while (log.childElementCount > MAX_BUBBLES) log.firstElementChild!.remove();
    log.setAttribute('aria-busy', 'true');
    let text = '';
    let sources: Source[] = [];
    let cited: number[] | null = null;
    let frame = 0;
    const paint = () => {
      frame = 0;
      body.replaceChildren(renderMarkdown(document, text, answerLinks(sources, cited)));
      // Follow the answer down only until its question reaches the top: its start stays in view.
      log.scrollTop = Math.min(log.scrollHeight, question.offsetTop - 14);
    };
    paint();
    await streamChat(
      {
        url: `${base}/api/v1/sites/${encodeURIComponent(site)}/chat`,
        key,
        message,
        conversationId: store(storeKey) ?? undefined,
        signal: abort.signal,
      },
      {
        meta: (meta) => {
          if (meta.conversationId) store(storeKey, meta.conversationId);
          // An answer is coming: whatever the config load said about reaching us is stale.
          showNotice(null);
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
        retrying: () => {
          status.className = 'status';
          status.textContent = t(lang, 'retrying');
        },
        done: (done: Done) => {
          status.remove();
          cited = done.cited ?? [];
          if (done.finishReason === 'no_answer') {
            // A refusal is said in the reader's language, and offers the hand-off.
            text = t(lang, 'noAnswer');
            bubble.classList.add('refused');
          }
          const list = sourcesList(h, sources, cited, lang);
          if (list !== null) bubble.append(list);
          bubble.append(
            answerTools(h, {
              lang,
              text,
              question: message,
              done,
              handoffUrl: config?.handoffUrl ?? null,
              vote: (rating, comment) => sendFeedback(base, site, key, done, rating, comment),
            }),
          );
        },
        fail: (failure) => {
          status.className = 'status error';
          status.textContent = failureText(lang, failure);
          bubble.append(status);
        },
      },
    );
    if (abort.signal.aborted) {
      status.className = 'status';
      status.textContent = t(lang, 'stopped');
      if (bubble.isConnected) bubble.append(status);
    }
    cancelAnimationFrame(frame);
    paint();
    log.setAttribute('aria-busy', 'false');
    if (controller === abort) {
      controller = null;
      send.hidden = false;
      stop.hidden = true;
    }
  }
}

if (script?.dataset.site) {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => mount(script));
  } else {
    mount(script);
  }
}
