import { z } from 'zod';
import type { Site } from '../../store/sites.js';
import { noNul } from '../schemas.js';

/** A link readers may follow from an answer that did not help: https: or mailto: only. */
const HandoffUrl = noNul(z.string().max(2048, 'must be at most 2048 characters')).refine(
  (value) => {
    try {
      return /^(https|mailto):$/.test(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  'must be an https: or mailto: URL',
);

const WebhookUrl = noNul(z.string().max(2048, 'must be at most 2048 characters')).refine(
  (value) => {
    try {
      return new URL(value).protocol === 'https:';
    } catch {
      return false;
    }
  },
  'must be an https: URL',
);

/** A BCP 47 language tag, as `lang` attributes hold them (`en`, `fr-CA`, `zh-Hant`). */
const Lang = z
  .string()
  .regex(
    /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$/,
    'must be a language tag like "en" or "fr-CA"',
  );

/** Half of a surrogate pair alone: JSON may carry it as an escape, jsonb refuses it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const Suggestion = noNul(
  z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
).refine((value) => !LONE_SURROGATE.test(value), 'must be valid Unicode text');

/**
 * What an admin may set on a site (`PATCH /api/v1/sites/:site` with `{ settings }`). Each key is
 * merged into the stored object; null removes it. `webhookUrl` is for operators and never reaches
 * readers.
 */
export const SiteSettingsPatch = z
  .object({
    suggestions: z.array(Suggestion).max(8, 'must hold at most 8 questions').nullable(),
    handoffUrl: HandoffUrl.nullable(),
    lang: Lang.nullable(),
    webhookUrl: WebhookUrl.nullable(),
  })
  .partial()
  .strict();

/** The stored settings as readers may see them, whatever older or foreign keys the row holds. */
export interface ReaderSettings {
  suggestions: string[];
  handoffUrl: string | null;
  lang: string | null;
}

/** Reads a site's stored settings defensively: anything that no longer validates is left out. */
export function readerSettings(site: Pick<Site, 'settings'>): ReaderSettings {
  const stored = site.settings;
  const suggestions = z.array(Suggestion).max(8).safeParse(stored.suggestions);
  const handoffUrl = HandoffUrl.safeParse(stored.handoffUrl);
  const lang = Lang.safeParse(stored.lang);
  return {
    suggestions: suggestions.success ? suggestions.data : [],
    handoffUrl: handoffUrl.success ? handoffUrl.data : null,
    lang: lang.success ? lang.data : null,
  };
}
