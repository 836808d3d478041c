import { Redis } from 'ioredis';

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  /** Connection name, shown by `CLIENT LIST` and in reports (e.g. `cache`, `limits`). */
  name: string;
  /** Longest wait between reconnect attempts, in ms. Default 3000. */
  maxBackoffMs?: number;
  /** A command that gets no reply in this many ms fails. Default 1000. */
  commandTimeoutMs?: number;
  /** Called with every connection error; without it errors are dropped (ioredis would log them). */
  onError?: (err: Error) => void;
}

/**
 * Connects to Redis at `url` so that an outage fails calls fast instead of stalling requests:
 * no offline queue, one retry per command, a command timeout, and reconnects forever with a
 * backoff capped at `maxBackoffMs`. Connecting starts at once; calls made before the client is
 * ready fail (callers treat that like any Redis error).
 */
export function connectRedis(url: string, options: ConnectRedisOptions): Redis {
  const maxBackoffMs = options.maxBackoffMs ?? 3000;
  const client = new Redis(url, {
    connectionName: options.name,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, maxBackoffMs),
  });
  client.on('error', (err: Error) => options.onError?.(err));
  return client;
}

/** True when `client` is connected and answers `PING` within `timeoutMs`. Never throws. */
export async function redisIsUp(client: Redis, timeoutMs = 1000): Promise<boolean> {
  if (client.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ping = client.ping().then(
    (reply) => reply === 'PONG',
    () => false,
  );
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `client` is ready, at most `timeoutMs`; true when it is. For boot and tests. */
export async function waitForRedis(client: Redis, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await redisIsUp(client)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
