import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's session cookie. `__Host-` is used when served over HTTPS (see `cookieName`). */
export const SESSION_COOKIE = 'ragedge_admin';

/** Sessions kept revoked (signed out) until they expire; past it the oldest are forgotten. */
const MAX_REVOKED = 10_000;

/**
 * Where sign-outs are shared with the other origins (the database), by a hash of the session:
 * a cookie signed out on one origin must not keep working on another.
 */
export interface SignOutStore {
  isSignedOut(hash: string): Promise<boolean>;
  recordSignOut(hash: string, expires: Date): Promise<void>;
}

/**
 * Admin console sessions: a cookie value `<expiry>.<nonce>.<mac>` signed with a key derived from
 * the admin token. Stateless, so any origin sharing the token accepts it; signing out revokes it
 * in this process at once and, through `signOuts`, on every origin sharing the database; changing
 * the admin token voids every session at once. The token itself never leaves the sign-in request.
 */
export class AdminSessions {
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #revoked = new Map<string, number>();
  readonly #now: () => number;
  readonly #signOuts: SignOutStore | undefined;

  constructor(
    adminToken: string,
    options: { ttlMs: number; now?: () => number; signOuts?: SignOutStore },
  ) {
    this.#key = createHmac('sha256', adminToken).update('ragedge admin session v1').digest();
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#signOuts = options.signOuts;
  }

  /** A new session: the cookie value and when it expires. */
  issue(): { value: string; expires: Date } {
    const expires = this.#now() + this.#ttlMs;
    const body = `${expires}.${randomBytes(16).toString('base64url')}`;
    return { value: `${body}.${this.#mac(body)}`, expires: new Date(expires) };
  }

  /** Whether `value` is a session this key signed, not expired and not signed out anywhere. */
  async verify(value: string | undefined): Promise<boolean> {
    if (!this.#signed(value)) return false;
    return this.#signOuts === undefined || !(await this.#signOuts.isSignedOut(hashOf(value!)));
  }

  /** Whether `value` is a session this key signed, not expired and not signed out here. */
  #signed(value: string | undefined): boolean {
    if (value === undefined || value.length > 200) return false;
    const parts = value.split('.');
    if (parts.length !== 3) return false;
    const [expires, nonce, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.#mac(`${expires}.${nonce}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    if (!(Number(expires) > this.#now())) return false;
    return !this.#revoked.has(value);
  }

  /** Signs a session out (here, and on every origin sharing `signOuts`) until it would expire. */
  async revoke(value: string): Promise<void> {
    this.#revokeHere(value);
    const expires = new Date(Number(value.split('.')[0]) || this.#now());
    await this.#signOuts?.recordSignOut(hashOf(value), expires);
  }

  #revokeHere(value: string): void {
    const now = this.#now();
    for (const [revoked, expires] of this.#revoked)
      if (expires <= now) this.#revoked.delete(revoked);
    while (this.#revoked.size >= MAX_REVOKED) {
      this.#revoked.delete(this.#revoked.keys().next().value as string);
    }
    this.#revoked.set(value, Number(value.split('.')[0]) || now);
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

/** What the shared store keeps of a session: never the cookie itself. */
function hashOf(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
