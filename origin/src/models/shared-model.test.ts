import { describe, expect, it } from 'vitest';
import { SharedModels } from './shared-model.js';

/** A promise with its resolve and reject, to settle from the test. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A pool of numbered fake models that records its loads and disposals. */
function fakePool() {
  const disposed: number[] = [];
  let loads = 0;
  const pool = new SharedModels<{ id: number }>(async (model) => {
    disposed.push(model.id);
  });
  const load = async () => {
    loads += 1;
    return { id: loads };
  };
  return { pool, load, disposed, loads: () => loads };
}

describe('SharedModels', () => {
  it('shares one load between concurrent acquires of a key', async () => {
    const { pool, load, loads } = fakePool();
    const [a, b] = await Promise.all([pool.acquire('m', load), pool.acquire('m', load)]);
    const c = await pool.acquire('m', load);
    expect(loads()).toBe(1);
    expect(a.value).toBe(b.value);
    expect(c.value).toBe(a.value);
    const other = await pool.acquire('other', load);
    expect(loads()).toBe(2);
    expect(other.value).not.toBe(a.value);
  });

  it('runs calls on one model one at a time, in order, past a failing one', async () => {
    const { pool, load } = fakePool();
    const [a, b] = await Promise.all([pool.acquire('m', load), pool.acquire('m', load)]);
    const events: string[] = [];
    const gate = deferred<void>();
    const first = a.run(async () => {
      events.push('first start');
      await gate.promise;
      events.push('first end');
      return 1;
    });
    const failing = b.run(async () => {
      events.push('failing');
      throw new Error('boom');
    });
    const last = a.run(async (model) => {
      events.push('last');
      return model.id;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(events).toEqual(['first start']);
    gate.resolve();
    expect(await first).toBe(1);
    await expect(failing).rejects.toThrow('boom');
    expect(await last).toBe(1);
    expect(events).toEqual(['first start', 'first end', 'failing', 'last']);
  });

  it('disposes the model after its last release, once its calls have settled', async () => {
    const { pool, load, disposed, loads } = fakePool();
    const a = await pool.acquire('m', load);
    const b = await pool.acquire('m', load);
    expect(a.released).toBe(false);
    await a.release();
    await a.release();
    expect(a.released).toBe(true);
    expect(b.released).toBe(false);
    expect(disposed).toEqual([]);

    const gate = deferred<void>();
    const pending = b.run(() => gate.promise);
    const released = b.release();
    await Promise.resolve();
    expect(disposed).toEqual([]);
    gate.resolve();
    await pending;
    await released;
    expect(disposed).toEqual([1]);

    // The next acquire loads afresh.
    const c = await pool.acquire('m', load);
    expect(loads()).toBe(2);
    expect(c.value.id).toBe(2);
  });

  it('does not hand out a model released while an acquire was waiting for it', async () => {
    const { pool, load, disposed, loads } = fakePool();
    const a = await pool.acquire('m', load);
    // This acquire finds the loaded model, then waits a turn; the last user releases it meanwhile.
    const waiting = pool.acquire('m', load);
    const released = a.release();
    const b = await waiting;
    await released;
    expect(disposed).toEqual([1]);
    expect(loads()).toBe(2);
    expect(b.value.id).toBe(2);
    await b.release();
    expect(disposed).toEqual([1, 2]);
  });

  it('forgets a failed load, so the next acquire retries', async () => {
    const { pool, loads } = fakePool();
    let attempts = 0;
    const flaky = async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('model files missing');
      return { id: 42 };
    };
    const [a, b] = await Promise.allSettled([pool.acquire('m', flaky), pool.acquire('m', flaky)]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    expect(attempts).toBe(1);
    const retried = await pool.acquire('m', flaky);
    expect(attempts).toBe(2);
    expect(retried.value.id).toBe(42);
    expect(loads()).toBe(0);
  });
});
