/** The widget's default colours; `theme.test.ts` holds every text/background pair to WCAG AA. */
export const PALETTE = {
  accent: '#1d4ed8',
  onAccent: '#ffffff',
  text: '#111827',
  muted: '#4b5563',
  background: '#ffffff',
  surface: '#f3f4f6',
  border: '#9ca3af',
  error: '#b91c1c',
} as const;

/** A host-given `#rgb`/`#rrggbb` colour as `#rrggbb`, or null: nothing else reaches the CSS. */
export function parseColor(value: string | null | undefined): string | null {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value?.trim() ?? '');
  if (match === null) return null;
  const hex = match[1]!.toLowerCase();
  return hex.length === 3 ? `#${hex.replace(/./g, '$&$&')}` : `#${hex}`;
}

/** The widget's CSS; it lives in a constructed stylesheet, so a strict `style-src` allows it. */
export function widgetCss(accent: string, onAccent: string, left: boolean): string {
  const p = PALETTE;
  const side = left ? 'left' : 'right';
  return `:host{all:initial!important;display:block!important;position:fixed!important;bottom:20px!important;${side}:20px!important;z-index:2147483000!important;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif!important;color:${p.text}!important;visibility:visible!important;opacity:1!important}
:host(.inline){position:static!important;bottom:auto!important;${side}:auto!important;z-index:auto!important}
*{box-sizing:border-box}
button,textarea{font:inherit;color:inherit}
button{cursor:pointer;border:0;border-radius:8px;padding:8px 12px;background:${accent};color:${onAccent}}
button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid ${accent};outline-offset:2px}
.launcher{width:56px;height:56px;border-radius:50%;padding:14px;line-height:0;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.launcher svg{width:28px;height:28px;fill:currentColor}
.panel{display:flex;flex-direction:column;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 100px));background:${p.background};border:1px solid ${p.border};border-radius:14px;box-shadow:0 10px 30px rgba(0,0,0,.25);overflow:hidden}
:host(:not(.inline)) .panel{position:absolute;bottom:70px;${side}:0}
:host(.inline) .panel{width:100%;height:480px;box-shadow:none}
[hidden]{display:none!important}
header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:10px 14px;background:${accent};color:${onAccent}}
h2{margin:0;font-size:16px;font-weight:600}
header button{background:transparent;font-size:20px;padding:2px 8px}
header button:focus-visible{outline-color:${onAccent}}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px}
.msg{padding:8px 12px;border-radius:12px;max-width:92%;overflow-wrap:anywhere}
.user{align-self:flex-end;background:${accent};color:${onAccent};white-space:pre-wrap}
.bot{align-self:flex-start;background:${p.surface}}
.bot p{margin:0 0 8px}.bot p:last-child{margin:0}
.bot ul,.bot ol{margin:0 0 8px;padding-left:22px}
pre{background:#1f2937;color:#f9fafb;padding:8px;border-radius:6px;overflow-x:auto;margin:0 0 8px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
:not(pre)>code{background:#e5e7eb;padding:1px 4px;border-radius:4px}
a{color:${p.accent}}
.cite{font-size:12px;vertical-align:super;text-decoration:none}
.sources{margin:8px 0 0;padding:8px 0 0 22px;border-top:1px solid ${p.border};font-size:13px;color:${p.muted}}
.status{color:${p.muted};font-size:13px}
.error{color:${p.error}}
form{display:flex;gap:8px;padding:10px;border-top:1px solid ${p.border}}
textarea{flex:1;resize:none;height:42px;padding:8px;border:1px solid ${p.border};border-radius:8px;background:${p.background}}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`;
}
