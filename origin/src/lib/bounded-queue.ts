import { AppError } from '../errors.js';

/**
 * Runs at most `concurrency` tasks at once and lets at most `maxWaiting` wait; past that a task
 * is refused at once with a 503 instead of queueing without bound.
 */
export class BoundedQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly name: string,
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  get depth(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new AppError('overloaded', `the ${this.name} queue is full; try again shortly`, {
          headers: { 'Retry-After': '5' },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.running -= 1;
      else next();
    }
  }
}
