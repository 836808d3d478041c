import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis, redisIsUp } from './redis.js';
import { connectForTest, freePort } from './testing.js';

const REDIS_URL = process.env.TEST_REDIS_URL;

describe('connectRedis when Redis is down', () => {
  const errors: Error[] = [];
  let client: ReturnType<typeof connectRedis> | undefined;
  afterAll(() => client?.disconnect());

  it('fails calls at once instead of queueing them, and reports connection errors', async () => {
    client = connectRedis(`redis://127.0.0.1:${await freePort()}`, {
      name: 'test-down',
      onError: (e) => errors.push(e),
    });
    const started = Date.now();
    await expect(client.get('k')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(500);
    expect(await redisIsUp(client)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe.runIf(REDIS_URL)('connectRedis', () => {
  it('connects and reports the server up', async () => {
    const client = await connectForTest(REDIS_URL!, 'test-up');
    try {
      expect(await redisIsUp(client)).toBe(true);
      expect(await client.client('GETNAME')).toBe('test-up');
    } finally {
      client.disconnect();
    }
  });
});
