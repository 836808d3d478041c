import { streamChat } from '../../shared/chat.js';
import { renderMarkdown, safeHref } from '../../shared/markdown.js';
import {
  type Conversation,
  ConversationStore,
  MAX_MESSAGES,
  type StoredMessage,
} from './conversations.js';

/**
 * The full-page chat. The site comes from `/s/<site>` or `?site=`, its public key from `?key=`
 * (remembered per site); questions go to `/api/v1/sites/<site>/chat` on this same host only.
 */

const params = new URLSearchParams(location.search);
const site = /^\/s\/([a-z0-9-]{1,63})\/?$/.exec(location.pathname)?.[1] ?? params.get('site') ?? '';
const keyName = `ragedge:site:${site}:key`;
const key = params.get('key') ?? localStorage.getItem(keyName) ?? '';
if (params.get('key')) localStorage.setItem(keyName, key);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = $<HTMLDivElement>('log');
const list = $<HTMLUListElement>('conversations');
const form = $<HTMLFormElement>('composer');
const input = $<HTMLTextAreaElement>('question');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const store = new ConversationStore(site, localStorage);

let current: Conversation = fresh();
let controller: AbortController | null = null;

function fresh(): Conversation {
  return { id: crypto.randomUUID(), title: 'New chat', updatedAt: Date.now(), messages: [] };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderList(): void {
  const items = store.list().map((conversation) => {
    const button = el('button', undefined, conversation.title);
    button.type = 'button';
    button.setAttribute('aria-current', String(conversation.id === current.id));
    button.addEventListener('click', () => {
      if (controller !== null) return;
      current = conversation;
      renderConversation();
    });
    const item = el('li');
    item.append(button);
    return item;
  });
  list.replaceChildren(...items);
}

/** An answer bubble; `update` repaints it as tokens arrive. */
function botBubble(message: StoredMessage) {
  const bubble = el('div', 'msg bot');
  const body = el('div', 'answer');
  const tools = el('div', 'tools');
  const status = el('p', 'status');
  bubble.append(body, status, tools);
  const update = () => {
    const hrefOf = (n: number) => safeHref(message.sources?.find((s) => s.n === n)?.url);
    body.replaceChildren(renderMarkdown(document, message.text, hrefOf));
    status.textContent = message.note ?? '';
    status.hidden = message.note === undefined;
  };
  const finish = () => {
    update();
    if ((message.sources?.length ?? 0) > 0 && message.text !== '') {
      const sources = el('ol', 'sources');
      sources.setAttribute('aria-label', 'Sources');
      for (const source of message.sources!) {
        const item = el('li');
        item.value = source.n;
        const url = safeHref(source.url);
        const label = source.title || url || `Source ${source.n}`;
        if (url === null) item.textContent = label;
        else {
          const a = el('a', undefined, label);
          a.href = url;
          a.target = '_blank';
          a.rel = 'noopener noreferrer';
          item.append(a);
        }
        sources.append(item);
      }
      bubble.insertBefore(sources, tools);
    }
    if (message.text !== '') {
      const copy = el('button', 'secondary', 'Copy');
      copy.type = 'button';
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(message.text);
          copy.textContent = 'Copied';
        } catch {
          copy.textContent = 'Copy failed';
        }
        setTimeout(() => {
          copy.textContent = 'Copy';
        }, 2000);
      });
      tools.replaceChildren(copy);
    }
  };
  return { bubble, update, finish, status };
}

function renderConversation(): void {
  log.replaceChildren();
  for (const message of current.messages) {
    if (message.role === 'user') log.append(el('div', 'msg user', message.text));
    else {
      const view = botBubble(message);
      view.finish();
      if (message.note) view.status.classList.add('error');
      log.append(view.bubble);
    }
  }
  renderList();
  log.scrollTop = log.scrollHeight;
}

async function ask(question: string): Promise<void> {
  if (current.messages.length === 0) current.title = question.slice(0, 80);
  current.messages.push({ role: 'user', text: question });
  const answer: StoredMessage = { role: 'bot', text: '', note: 'Thinking…' };
  current.messages.push(answer);
  if (current.messages.length > MAX_MESSAGES) current.messages.splice(0, 2);
  log.append(el('div', 'msg user', question));
  const view = botBubble(answer);
  view.update();
  log.append(view.bubble);
  controller = new AbortController();
  send.disabled = true;
  stop.hidden = false;
  log.setAttribute('aria-busy', 'true');
  let frame = 0;
  const paint = () => {
    frame = 0;
    view.update();
    log.scrollTop = log.scrollHeight;
  };
  await streamChat(
    {
      url: `/api/v1/sites/${encodeURIComponent(site)}/chat`,
      key,
      message: question,
      conversationId: current.serverId,
      signal: controller.signal,
    },
    {
      meta: (meta) => {
        if (meta.conversationId) current.serverId = meta.conversationId;
      },
      sources: (sources) => {
        answer.sources = sources;
      },
      token: (text) => {
        delete answer.note;
        answer.text += text;
        frame ||= requestAnimationFrame(paint);
      },
      restart: () => {
        answer.text = '';
        answer.sources = [];
        frame ||= requestAnimationFrame(paint);
      },
      done: () => {
        delete answer.note;
      },
      fail: (failure) => {
        answer.note = failure.message;
        view.status.classList.add('error');
      },
    },
  );
  if (controller.signal.aborted) answer.note = 'Stopped.';
  cancelAnimationFrame(frame);
  view.finish();
  controller = null;
  send.disabled = false;
  stop.hidden = true;
  log.setAttribute('aria-busy', 'false');
  current.updatedAt = Date.now();
  store.save(current);
  renderList();
  input.focus();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (question === '' || controller !== null) return;
  input.value = '';
  void ask(question);
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
stop.addEventListener('click', () => controller?.abort());
$<HTMLButtonElement>('new-chat').addEventListener('click', () => {
  if (controller !== null) return;
  current = fresh();
  renderConversation();
  input.focus();
});

if (site === '' || key === '') {
  log.append(
    el('p', 'status error', 'Open this page as /s/<site>?key=<public key> to chat with a site.'),
  );
  send.disabled = true;
} else {
  $<HTMLHeadingElement>('site-title').textContent = `${site} · Ask the docs`;
  document.title = `${site} · Ask the docs`;
  const latest = store.list()[0];
  if (latest !== undefined) current = latest;
  renderConversation();
}
