import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

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

/** How log lines are written: JSON for machines, short readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * Structured logs. Secrets never reach a log line: the fields that could hold them are redacted
 * wherever they appear. `pretty` writes the same records as readable lines to stdout,
 * synchronously so that they keep their order with what else the process prints there.
 * `destination` is for tests that read the lines back.
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options = {
    level,
    base: { service: 'origin' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (format === 'pretty') {
    const stream = pretty({
      sync: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service',
      singleLine: true,
      ...(destination === undefined ? {} : { destination }),
    });
    return pino(options, stream);
  }
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** The format `LOG_FORMAT` asks for: `auto` is readable lines when stdout is a terminal. */
export function logFormat(setting: 'auto' | LogFormat, stdoutIsTerminal: boolean): LogFormat {
  if (setting !== 'auto') return setting;
  return stdoutIsTerminal ? 'pretty' : 'json';
}
