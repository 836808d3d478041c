import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { BoundedQueue } from './bounded-queue.js';

/** A task that runs until `release` is called, and records that it started. */
function gate() {
  let release = () => {};
  let started = false;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    task: async () => {
      started = true;
      await done;
      return 'ok';
    },
    release: () => release(),
    started: () => started,
  };
}

describe('BoundedQueue', () => {
  it('runs at most `concurrency` tasks at once and starts a waiting one when a slot frees', async () => {
    const queue = new BoundedQueue('test', 2, 5);
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g) => queue.run(g.task));
    await Promise.resolve();
    expect(gates.map((g) => g.started())).toEqual([true, true, false]);
    expect(queue.depth).toEqual({ running: 2, waiting: 1 });
    gates[0]!.release();
    await runs[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(gates[2]!.started()).toBe(true);
    expect(queue.depth).toEqual({ running: 2, waiting: 0 });
    gates[1]!.release();
    gates[2]!.release();
    expect(await Promise.all(runs)).toEqual(['ok', 'ok', 'ok']);
    expect(queue.depth).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses at once with 503 overloaded and Retry-After when the waiting list is full', async () => {
    const queue = new BoundedQueue('embedding', 1, 2);
    const gates = [gate(), gate(), gate()];
    const runs = gates.map((g) => queue.run(g.task));
    const refused = await queue.run(async () => 'never').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'overloaded', status: 503 });
    expect((refused as AppError).headers['Retry-After']).toMatch(/^\d+$/);
    expect((refused as AppError).message).toContain('embedding');
    expect(queue.depth).toEqual({ running: 1, waiting: 2 });
    for (const g of gates) g.release();
    await Promise.all(runs);
    expect(queue.depth).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot when a task fails, and passes the failure on', async () => {
    const queue = new BoundedQueue('test', 1, 0);
    await expect(queue.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(queue.depth).toEqual({ running: 0, waiting: 0 });
    expect(await queue.run(async () => 42)).toBe(42);
  });

  it('with no waiting room refuses every task past the running ones', async () => {
    const queue = new BoundedQueue('test', 1, 0);
    const g = gate();
    const first = queue.run(g.task);
    await expect(queue.run(async () => 1)).rejects.toMatchObject({ code: 'overloaded' });
    g.release();
    await first;
  });
});
