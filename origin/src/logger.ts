import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets never reach a log line: the fields that could hold them are
 * redacted wherever they appear.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'origin' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.adminToken',
        '*.ADMIN_TOKEN',
        '*.DATABASE_URL',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}
