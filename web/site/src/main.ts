import { answerTools, maker, sourcesList } from '../../shared/answer.js';
import {
  type ChatFailure,
  fetchConfig,
  type SiteConfig,
  sendFeedback,
  streamChat,
} from '../../shared/chat.js';
import { isRtl, pickLang, type StringKey, siteText, t } from '../../shared/i18n.js';
import { answerLinks, renderMarkdown } from '../../shared/markdown.js';
import {
  type Conversation,
  ConversationStore,
  MAX_MESSAGES,
  type StoredMessage,
} from './conversations.js';

/**
 * The full-page chat. The site comes from `/s/<site>` or `?site=`, its public key from `?key=`
 * (remembered per site); questions go to `/api/v1/sites/<site>/chat` on this same host only.
 * `?q=<question>` (a shared link) asks that question in a new conversation; `?lang=` picks the
 * language. Without a site, `/` explains what this is.
 */

const params = new URLSearchParams(location.search);
const site = /^\/s\/([a-z0-9-]{1,63})\/?$/.exec(location.pathname)?.[1] ?? params.get('site') ?? '';
const keyName = `ragedge:site:${site}:key`;
const key = params.get('key') ?? localStorage.getItem(keyName) ?? '';
if (params.get('key')) localStorage.setItem(keyName, key);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const make = maker(document);
const log = $<HTMLDivElement>('log');
const list = $<HTMLUListElement>('conversations');
const form = $<HTMLFormElement>('composer');
const input = $<HTMLTextAreaElement>('question');
const send = $<HTMLButtonElement>('send');
const stop = $<HTMLButtonElement>('stop');
const notice = $<HTMLParagraphElement>('notice');
const newChat = $<HTMLButtonElement>('new-chat');
const store = new ConversationStore(site, localStorage);

let lang = pickLang([params.get('lang'), navigator.language]);
let config: SiteConfig | null = null;
let current: Conversation = fresh();
let controller: AbortController | null = null;

function fresh(): Conversation {
  return {
    id: crypto.randomUUID(),
    title: t(lang, 'newChat'),
    updatedAt: Date.now(),
    messages: [],
  };
}

/** Every static word on the page, in the reader's language. */
function applyLanguage(): void {
  document.documentElement.lang = lang;
  document.documentElement.dir = isRtl(lang) ? 'rtl' : 'ltr';
  const words: Array<[HTMLElement, StringKey]> = [
    [newChat, 'newChat'],
    [send, 'send'],
    [stop, 'stop'],
    [$('question-label'), 'question'],
  ];
  for (const [node, word] of words) node.textContent = t(lang, word);
  input.placeholder = t(lang, 'placeholder');
  log.setAttribute('aria-label', t(lang, 'conversation'));
}

function showNotice(text: string | null, error = false): void {
  notice.hidden = text === null;
  notice.textContent = text ?? '';
  notice.className = error ? 'notice error' : 'notice';
}

function failureText(failure: ChatFailure): string {
  if (failure.detail) return failure.detail;
  return t(lang, failure.kind, failure.kind === 'limited' ? (failure.retryAfter ?? 30) : undefined);
}

function renderList(): void {
  const items = store.list().map((conversation) => {
    const button = make('button', { type: 'button' }, conversation.title);
    button.setAttribute('aria-current', String(conversation.id === current.id));
    button.addEventListener('click', () => {
      if (controller !== null) return;
      current = conversation;
      renderConversation();
    });
    const item = make('li');
    item.append(button);
    return item;
  });
  list.replaceChildren(...items);
}

/** The link that asks `question` again on this site, for sharing. */
function shareLink(question: string): string {
  const url = new URL(`/s/${site}`, location.origin);
  url.searchParams.set('key', key);
  url.searchParams.set('q', question);
  return url.href;
}

/** An answer bubble; `update` repaints it as tokens arrive, `finish` adds its sources and tools. */
function botBubble(message: StoredMessage) {
  const bubble = make('div', { class: 'msg bot' });
  const body = make('div', { class: 'answer', dir: 'auto' });
  const status = make('p', { class: 'status' });
  bubble.append(body, status);
  const update = () => {
    const links = answerLinks(message.sources ?? [], message.done?.cited ?? null);
    body.replaceChildren(renderMarkdown(document, message.text, links));
    status.textContent = message.note ?? '';
    status.hidden = message.note === undefined;
  };
  const finish = () => {
    update();
    const done = message.done;
    if (done === undefined) return;
    const sources = sourcesList(make, message.sources ?? [], done.cited ?? [], lang);
    if (sources !== null) bubble.append(sources);
    const question = message.question ?? '';
    const tools = answerTools(make, {
      lang,
      text: message.text,
      question,
      done,
      handoffUrl: config?.handoffUrl ?? null,
      vote: (rating, comment) => sendFeedback('', site, key, done, rating, comment),
    });
    if (question !== '') {
      const share = make('button', { type: 'button', class: 'share' }, siteText(lang, 'share'));
      share.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(shareLink(question));
          share.textContent = t(lang, 'copied');
        } catch {
          share.textContent = siteText(lang, 'share');
        }
      });
      tools.prepend(share);
    }
    bubble.append(tools);
  };
  return { bubble, update, finish, status };
}

function showSuggestions(): void {
  const suggestions = config?.suggestions ?? [];
  if (current.messages.length > 0 || suggestions.length === 0) return;
  const group = make('div', {
    class: 'suggest',
    role: 'group',
    'aria-label': t(lang, 'suggested'),
  });
  for (const question of suggestions) {
    const button = make('button', { type: 'button', class: 'secondary' }, question);
    button.addEventListener('click', () => void ask(question));
    group.append(button);
  }
  log.append(group);
}

function renderConversation(): void {
  log.replaceChildren();
  for (const message of current.messages) {
    if (message.role === 'user')
      log.append(make('div', { class: 'msg user', dir: 'auto' }, message.text));
    else {
      const view = botBubble(message);
      view.finish();
      if (message.note && message.note !== t(lang, 'stopped')) view.status.classList.add('error');
      log.append(view.bubble);
    }
  }
  showSuggestions();
  renderList();
  log.scrollTop = log.scrollHeight;
}

async function ask(question: string): Promise<void> {
  log.querySelector('.suggest')?.remove();
  if (current.messages.length === 0) current.title = question.slice(0, 80);
  current.messages.push({ role: 'user', text: question });
  const answer: StoredMessage = { role: 'bot', text: '', note: t(lang, 'thinking'), question };
  current.messages.push(answer);
  if (current.messages.length > MAX_MESSAGES) current.messages.splice(0, 2);
  const asked = make('div', { class: 'msg user', dir: 'auto' }, question);
  log.append(asked);
  const view = botBubble(answer);
  view.update();
  log.append(view.bubble);
  controller = new AbortController();
  send.hidden = true;
  stop.hidden = false;
  log.setAttribute('aria-busy', 'true');
  let frame = 0;
  const paint = () => {
    frame = 0;
    view.update();
    // Follow the answer until its question reaches the top, so that its start stays in view.
    log.scrollTop = Math.min(log.scrollHeight, asked.offsetTop - log.offsetTop - 12);
  };
  paint();
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
        // An answer is coming: whatever the config load said about reaching us is stale.
        showNotice(null);
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
      retrying: () => {
        answer.note = t(lang, 'retrying');
        view.update();
      },
      done: (done) => {
        delete answer.note;
        answer.done = done;
        if (done.finishReason === 'no_answer') answer.text = t(lang, 'noAnswer');
      },
      fail: (failure) => {
        answer.note = failureText(failure);
        view.status.classList.add('error');
      },
    },
  );
  if (controller.signal.aborted) {
    answer.note = t(lang, 'stopped');
    view.status.classList.remove('error');
    // A stopped answer keeps the sources it had so far, as cited by none yet.
    answer.done = { cited: [] };
  }
  cancelAnimationFrame(frame);
  view.finish();
  controller = null;
  send.hidden = false;
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
newChat.addEventListener('click', () => {
  if (controller !== null) return;
  current = fresh();
  renderConversation();
  input.focus();
});

/** `/` (or a link without its key): what this is, and how to open a site's chat. */
function landing(): void {
  $('app').hidden = true;
  $('landing').hidden = false;
  document.documentElement.lang = lang;
  document.documentElement.dir = isRtl(lang) ? 'rtl' : 'ltr';
  $('landing-title').textContent = siteText(lang, 'landing');
  $('landing-about').textContent = siteText(lang, 'about');
  $('landing-how').textContent = siteText(lang, 'how');
  document.title = siteText(lang, 'landing');
}

async function start(): Promise<void> {
  applyLanguage();
  const latest = store.list()[0];
  const shared = params.get('q')?.trim().slice(0, 4000);
  if (latest !== undefined && !shared) current = latest;
  renderConversation();
  const result = await fetchConfig('', site, key, () => showNotice(t(lang, 'retrying')));
  if ('kind' in result) {
    showNotice(failureText(result), true);
    if (result.kind === 'forbidden') send.disabled = true;
  } else {
    showNotice(null);
    config = result;
    const chosen = pickLang([params.get('lang'), result.lang, navigator.language]);
    if (chosen !== lang) {
      lang = chosen;
      applyLanguage();
    }
    $('site-title').textContent = result.title;
    document.title = result.title;
    renderConversation();
  }
  if (shared && controller === null && !send.disabled) {
    // Asked once: a reload of the page does not ask it again.
    params.delete('q');
    history.replaceState(null, '', `${location.pathname}?${params}`);
    await ask(shared);
  }
}

if (site === '' || key === '') landing();
else void start();
