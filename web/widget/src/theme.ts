/** The widget's light colours; `theme.test.ts` holds every text/background pair to WCAG AA. */
export const PALETTE = {
  accent: '#1d4ed8',
  onAccent: '#ffffff',
  link: '#1d4ed8',
  text: '#111827',
  muted: '#4b5563',
  background: '#ffffff',
  surface: '#f3f4f6',
  border: '#9ca3af',
  error: '#b91c1c',
  code: '#e5e7eb',
} as const;

/** The dark colours, for `data-theme="dark"` or a dark system setting under `auto`. */
export const DARK: Record<keyof typeof PALETTE, string> = {
  accent: '#1d4ed8',
  onAccent: '#ffffff',
  link: '#93c5fd',
  text: '#f1f5f9',
  muted: '#cbd5e1',
  background: '#0f172a',
  surface: '#1e293b',
  border: '#64748b',
  error: '#fca5a5',
  code: '#334155',
};

/** A host-given `#rgb`/`#rrggbb` colour as `#rrggbb`, or null: nothing else reaches the CSS. */
export function parseColor(value: string | null | undefined): string | null {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value?.trim() ?? '');
  if (match === null) return null;
  const hex = match[1]!.toLowerCase();
  return hex.length === 3 ? `#${hex.replace(/./g, '$&$&')}` : `#${hex}`;
}

const vars = (p: Record<keyof typeof PALETTE, string>) =>
  `--bg:${p.background};--fg:${p.text};--mu:${p.muted};--sf:${p.surface};--bd:${p.border};--er:${p.error};--ln:${p.link};--cd:${p.code}`;

/**
 * The widget's CSS; it lives in a constructed stylesheet, so a strict `style-src` allows it.
 * Colours are custom properties (which a host's `all: unset` does not touch): light, dark, or
 * the system's choice (`data-theme="auto"`, the default). Below 520 px the open panel fills the
 * screen, with its close button in reach.
 */
export function widgetCss(accent: string, onAccent: string, left: boolean): string {
  const side = left ? 'left' : 'right';
  const dark = vars(DARK);
  return `:host{${vars(PALETTE)};--ac:${accent};--on:${onAccent};all:initial!important;display:block!important;position:fixed!important;bottom:20px!important;${side}:20px!important;z-index:2147483000!important;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif!important;color:var(--fg)!important;visibility:visible!important;opacity:1!important}
:host([data-theme=dark]){${dark}}
@media (prefers-color-scheme:dark){:host(:not([data-theme=light])){${dark}}}
:host(.inline){position:static!important;bottom:auto!important;${side}:auto!important;z-index:auto!important}
*{box-sizing:border-box}
button,textarea{font:inherit;color:inherit}
button{cursor:pointer;border:0;border-radius:8px;padding:8px 12px;background:var(--ac);color:var(--on)}
*:focus-visible{outline:3px solid var(--ln);outline-offset:2px}
.launcher{width:56px;height:56px;border-radius:50%;padding:14px;line-height:0;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.launcher svg{width:28px;height:28px;fill:currentColor}
.panel{display:flex;flex-direction:column;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 100px));background:var(--bg);color:var(--fg);border:1px solid var(--bd);border-radius:14px;box-shadow:0 10px 30px rgba(0,0,0,.25);overflow:hidden}
:host(:not(.inline)) .panel{position:absolute;bottom:70px;${side}:0}
:host(.inline) .panel{width:100%;height:480px;box-shadow:none}
@media (max-width:520px){:host(.open:not(.inline)) .panel{position:fixed;inset:0;width:auto;height:auto;border:0;border-radius:0;padding:env(safe-area-inset-top) 0 env(safe-area-inset-bottom)}:host(.open:not(.inline)) .launcher{display:none}}
[hidden]{display:none!important}
header{display:flex;align-items:center;padding:6px;padding-inline-start:14px;background:var(--ac);color:var(--on)}
h2{margin:0;font-size:16px;flex:1}
header button{background:transparent;color:inherit;font-size:22px;line-height:1;min-width:44px;min-height:44px;padding:0}
header button:focus-visible{outline-color:var(--on);outline-offset:-3px}
.log{position:relative;flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px}
.msg{padding:8px 12px;border-radius:12px;max-width:92%;overflow-wrap:anywhere}
.user{align-self:flex-end;background:var(--ac);color:var(--on);white-space:pre-wrap}
.bot{align-self:flex-start;background:var(--sf)}
.bot p{margin:0 0 8px}.bot p:last-child{margin:0}
.bot ul,.bot ol{margin:0 0 8px;padding-inline-start:22px}
pre{background:#1f2937;color:#f9fafb;padding:8px;border-radius:6px;overflow-x:auto;margin:0 0 8px;direction:ltr;text-align:left}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
:not(pre)>code{background:var(--cd);padding:1px 4px;border-radius:4px}
.table{overflow-x:auto;margin:0 0 8px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--bd);padding:3px 6px;text-align:start}
a{color:var(--ln)}
.cite{font-size:12px;vertical-align:super;text-decoration:none}
.sources{margin:8px 0 0;padding:8px 0 0;padding-inline-start:22px;border-top:1px solid var(--bd);font-size:13px;color:var(--mu)}
details p{margin:4px 0;font-style:italic}
.tools{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-top:8px;font-size:13px}
.tools button,.suggest button{background:transparent;color:var(--fg);border:1px solid var(--bd);padding:3px 9px}
.tools [aria-pressed=true]{background:var(--ac);color:var(--on)}
.tools textarea{flex-basis:100%;height:54px}
.suggest{display:flex;flex-direction:column;align-items:flex-start;gap:6px}
.suggest button{text-align:start;border-radius:14px}
.status,.notice{color:var(--mu);font-size:13px;margin:0}
.notice{padding:6px 14px;border-top:1px solid var(--bd)}
.error{color:var(--er)}
form{display:flex;gap:8px;padding:10px;border-top:1px solid var(--bd)}
textarea{flex:1;resize:none;height:42px;padding:8px;border:1px solid var(--bd);border-radius:8px;background:var(--bg)}`;
}
