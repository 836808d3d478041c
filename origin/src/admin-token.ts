import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The admin token in force, and where it came from. */
export interface AdminToken {
  token: string;
  /** The file that holds it; null when it comes from `ADMIN_TOKEN`. */
  file: string | null;
  source: 'environment' | 'file' | 'generated';
}

/**
 * The admin token in force: `ADMIN_TOKEN` when set; otherwise one generated on first start into
 * `<data dir>/admin-token` (mode 0600), so that the embedded default is secure without setup.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): AdminToken {
  if (configured !== undefined) return { token: configured, file: null, source: 'environment' };
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 24) return { token, file, source: 'file' };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file, source: 'generated' };
}

/** The admin token without creating one: for clients such as the CLI. */
export function readAdminToken(configured: string | undefined, dataDir: string): string | null {
  if (configured !== undefined) return configured;
  const file = join(dataDir, 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}
