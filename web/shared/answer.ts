import type { Done, Source } from './chat.js';
import { type StringKey, t } from './i18n.js';
import { safeHref } from './markdown.js';

/**
 * The parts around an answer that the widget and the chat site share: the cited sources, the
 * copy and vote buttons, and the hand-off link. All DOM-built, all words from the strings table.
 */

type Make = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, string>,
  text?: string,
) => HTMLElementTagNameMap[K];

/** An element factory for `doc`: attributes set one by one, text as a text node. */
export function maker(doc: Document): Make {
  return (tag, attrs = {}, text) => {
    const node = doc.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
}

/** "Title › Heading": the document's title and the section the passage is under. */
export function sourceLabel(source: Source): string {
  const heading = source.headingPath?.filter((h) => h !== source.title).at(-1);
  return [source.title || safeHref(source.url) || `#${source.n}`, heading]
    .filter(Boolean)
    .join(' › ');
}

/** The list of the sources an answer cites (from `done.cited`), or null when it cites none. */
export function sourcesList(
  make: Make,
  sources: readonly Source[],
  cited: readonly number[],
  lang: string,
): HTMLOListElement | null {
  const shown = sources.filter((s) => cited.includes(s.n));
  if (shown.length === 0) return null;
  const list = make('ol', { class: 'sources', 'aria-label': t(lang, 'sources') });
  for (const source of shown) {
    const item = make('li', { value: String(source.n) });
    const url = safeHref(source.url);
    const label = sourceLabel(source);
    item.append(
      url === null
        ? make('span', {}, label)
        : make('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, label),
    );
    if (source.snippet) {
      // The passage on demand: a native disclosure, keyboard and screen-reader ready.
      const details = make('details');
      details.append(make('summary', {}, t(lang, 'excerpt')), make('p', {}, source.snippet));
      item.append(details);
    }
    list.append(item);
  }
  return list;
}

/** The hand-off link with the question prefilled, or null if the setting is not https:/mailto:. */
export function handoffHref(url: string | null | undefined, question: string): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    const q = question.slice(0, 500);
    if (parsed.protocol === 'mailto:') {
      const join = parsed.href.includes('?') ? '&' : '?';
      return `${parsed.href}${join}subject=${encodeURIComponent(q.slice(0, 80))}&body=${encodeURIComponent(q)}`;
    }
    if (parsed.protocol !== 'https:') return null;
    parsed.searchParams.set('question', q);
    return parsed.href;
  } catch {
    return null;
  }
}

export interface ToolsOptions {
  lang: string;
  /** The answer's text, for Copy. */
  text: string;
  question: string;
  done: Done;
  handoffUrl: string | null;
  /** Records a vote; resolves to whether the origin took it. */
  vote?: (rating: 'up' | 'down', comment?: string) => Promise<boolean>;
}

/**
 * Copy, thumbs up/down (with an optional comment after a down vote) and, when the answer was
 * refused or voted down, "Still stuck? Contact us" with the question prefilled.
 */
export function answerTools(make: Make, options: ToolsOptions): HTMLDivElement {
  const { lang } = options;
  const say = (key: StringKey) => t(lang, key);
  const tools = make('div', { class: 'tools' });
  const button = (key: StringKey, text = say(key)) => {
    const b = make('button', { type: 'button', 'aria-label': say(key) }, text);
    tools.append(b);
    return b;
  };
  const note = make('span', { class: 'status', role: 'status' });
  const handoff = handoffHref(options.handoffUrl, options.question);
  const offerHandoff = () => {
    if (handoff !== null && !tools.querySelector('.handoff')) {
      tools.append(
        make(
          'a',
          { class: 'handoff', href: handoff, target: '_blank', rel: 'noopener noreferrer' },
          say('handoff'),
        ),
      );
    }
  };
  if (options.text !== '' && options.done.finishReason !== 'no_answer') {
    const copy = button('copy');
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(options.text);
        copy.textContent = say('copied');
      } catch {
        copy.textContent = say('copy');
      }
    });
  }
  const vote = options.vote;
  if (vote !== undefined && options.done.messageId !== undefined) {
    // Words, not emoji: a system without an emoji font would show empty boxes.
    const up = button('up');
    const down = button('down');
    // Only the latest vote thanks the reader: a comment sent after a down vote is thanked when
    // the comment is stored, not when the vote before it is.
    let casts = 0;
    const cast = async (rating: 'up' | 'down', comment?: string) => {
      const mine = ++casts;
      note.textContent = '';
      up.setAttribute('aria-pressed', String(rating === 'up'));
      down.setAttribute('aria-pressed', String(rating === 'down'));
      if ((await vote(rating, comment)) && mine === casts) note.textContent = say('thanks');
    };
    up.addEventListener('click', () => void cast('up'));
    down.addEventListener('click', () => {
      void cast('down');
      offerHandoff();
      if (tools.querySelector('textarea')) return;
      const comment = make('textarea', {
        'aria-label': say('comment'),
        placeholder: say('comment'),
        maxlength: '1000',
      });
      const send = make('button', { type: 'button' }, say('send'));
      send.addEventListener('click', () => {
        void cast('down', comment.value.trim());
        comment.remove();
        send.remove();
      });
      tools.append(comment, send);
      comment.focus();
    });
    for (const b of [up, down]) b.setAttribute('aria-pressed', 'false');
  }
  tools.append(note);
  if (options.done.finishReason === 'no_answer') offerHandoff();
  return tools;
}
