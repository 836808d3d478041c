import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/**
 * Fields that could hold a secret, wherever a log call puts them: tokens, keys, the shared edge
 * secret, the database URL (it carries the password), credential headers. A safety net only:
 * log calls do not pass these in the first place.
 */
export const REDACT_PATHS = [
  'authorization',
  'adminToken',
  'apiKey',
  'password',
  'secret',
  'ADMIN_TOKEN',
  'LLM_API_KEY',
  'EDGE_SHARED_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
  'RATE_LIMIT_REDIS_URL',
  'headers.authorization',
  'headers.cookie',
  'headers["x-edge-secret"]',
  'headers["x-site-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-edge-secret"]',
  'req.headers["x-site-key"]',
  '*.authorization',
  '*.adminToken',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.ADMIN_TOKEN',
  '*.LLM_API_KEY',
  '*.EDGE_SHARED_SECRET',
  '*.DATABASE_URL',
  '*.REDIS_URL',
  '*.RATE_LIMIT_REDIS_URL',
];

/**
 * Structured JSON logs. Secrets never reach a log line: the fields that could hold them are
 * redacted wherever they appear. `destination` is for tests that read the lines back.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'origin' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
