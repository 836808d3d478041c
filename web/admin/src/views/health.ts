import type { PageContext } from '../context.js';
import { h } from '../dom.js';

/** Health: what `/api/v1/health` reports, as a list. */
export async function healthPage(_ctx: PageContext): Promise<Node> {
  const response = await fetch('/api/v1/health', { cache: 'no-store' });
  const body = (await response.json()) as Record<string, unknown>;
  const rows: Array<[string, string]> = [];
  const walk = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value))
        walk(prefix ? `${prefix} ${key}` : key, inner);
    } else rows.push([prefix, value === null ? '–' : String(value)]);
  };
  walk('', body);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'health-title' },
    h('h2', { id: 'health-title' }, response.ok ? 'All parts answer' : 'Something is down'),
    h(
      'dl',
      { class: 'health' },
      ...rows.flatMap(([k, v]) => [
        h('dt', {}, k),
        h('dd', { class: v === 'down' ? 'error' : undefined }, v),
      ]),
    ),
  );
}
