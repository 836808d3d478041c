import type { Pool } from 'pg';
import { z } from 'zod';
import { parseWith } from '../lib/validate.js';
import { getSite, getSiteByPublicKey, PUBLIC_KEY, type Site } from '../store/sites.js';

/** A site's name: its handle in URLs. */
export const SiteName = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be 1–63 lowercase letters, digits or dashes',
  );

/**
 * The site a reader route names: by its name, or by its public key, which lets a widget be
 * embedded with that one attribute (`data-site="pk_…"`). Names and keys cannot collide: a key has
 * an underscore, a name cannot.
 */
export function siteOfRoute(db: Pool, param: string): Promise<Site> {
  return PUBLIC_KEY.test(param)
    ? getSiteByPublicKey(db, param)
    : getSite(db, parseWith(SiteName, param, 'site'));
}
