/**
 * Bookkeeping for a model loaded once per process and shared by every user of it: the embedder
 * and the cross-encoder each keep one `SharedModels` pool, keyed by models dir, model id and
 * dtype. Loading is costly (hundreds of MB read, a warm-up run), so concurrent acquires of one
 * key join the same load; the model is disposed when its last user releases it.
 */

/** One user's hold on a shared model. */
export interface SharedModel<T> {
  /** The loaded model. Use it through `run`, which keeps calls one at a time. */
  readonly value: T;
  /**
   * Runs `work` once every call queued before it on this model has settled, and returns its
   * result. Calls run one at a time: ONNX Runtime already uses every core for one call.
   */
  run<R>(work: (value: T) => Promise<R>): Promise<R>;
  /**
   * Gives up this hold; the model is disposed, once its queued calls have settled, when its last
   * user releases it. A second release of the same hold does nothing.
   */
  release(): Promise<void>;
  /** True once `release` has been called on this hold. */
  readonly released: boolean;
}

interface Entry<T> {
  readonly value: T;
  users: number;
  disposed: boolean;
  queue: Promise<unknown>;
}

/** A process-wide pool of shared models of one kind. */
export class SharedModels<T> {
  readonly #entries = new Map<string, Promise<Entry<T>>>();
  readonly #dispose: (value: T) => Promise<unknown>;

  /** `dispose` frees a model once its last user has released it. */
  constructor(dispose: (value: T) => Promise<unknown>) {
    this.#dispose = dispose;
  }

  /**
   * Joins the model loaded (or loading) under `key`, or starts `load` when there is none. A load
   * that fails rejects every acquire waiting on it and is forgotten, so the next acquire retries.
   */
  async acquire(key: string, load: () => Promise<T>): Promise<SharedModel<T>> {
    for (;;) {
      let pending = this.#entries.get(key);
      if (pending === undefined) {
        const started = (async (): Promise<Entry<T>> => ({
          value: await load(),
          users: 0,
          disposed: false,
          queue: Promise.resolve(),
        }))();
        pending = started;
        this.#entries.set(key, started);
        started.catch(() => {
          if (this.#entries.get(key) === started) this.#entries.delete(key);
        });
      }
      const entry = await pending;
      // The last user may have released it while this acquire was waiting: start a fresh load.
      if (entry.disposed) continue;
      entry.users += 1;
      return this.#hold(key, pending, entry);
    }
  }

  #hold(key: string, pending: Promise<Entry<T>>, entry: Entry<T>): SharedModel<T> {
    let released = false;
    return {
      value: entry.value,
      run: <R>(work: (value: T) => Promise<R>): Promise<R> => {
        const result = entry.queue.then(() => work(entry.value));
        entry.queue = result.catch(() => undefined);
        return result;
      },
      get released(): boolean {
        return released;
      },
      release: async (): Promise<void> => {
        if (released) return;
        released = true;
        entry.users -= 1;
        if (entry.users > 0) return;
        entry.disposed = true;
        if (this.#entries.get(key) === pending) this.#entries.delete(key);
        await entry.queue;
        await this.#dispose(entry.value);
      },
    };
  }
}
