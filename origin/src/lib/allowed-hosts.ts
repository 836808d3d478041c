/**
 * Whether a request's `Host` header names this origin (`ALLOWED_HOSTS`). An entry is a host name
 * (any port) or `host:port`; `*` allows any host. A DNS-rebinding page reaches the origin under
 * the attacker's host name, so only what the operator listed may count as "this origin".
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  if (host === undefined || host === '') return false;
  const value = host.trim().toLowerCase();
  // `[::1]:8000` → `[::1]`; `example.com:8000` → `example.com`.
  const name = value.startsWith('[')
    ? value.slice(0, value.indexOf(']') + 1)
    : value.replace(/:\d+$/, '');
  return allowed.includes(value) || allowed.includes(name);
}
