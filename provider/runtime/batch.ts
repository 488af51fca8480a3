/**
 * Gathers the calls that arrive at about the same moment into one batch. The engine runs up to
 * `--parallel` steps at once, so the creates, deletes or binding changes that become ready together
 * go out as one request (a create of up to 100 secrets, one bulk delete, one settings PATCH per
 * Worker) instead of one each.
 */

/** How often a held batch asks `holdWhile` again. */
const HOLD_RECHECK_MS = 20;

/** A batch: at least one item. */
export type NonEmpty<T> = [T, ...T[]];

/** What a batch gives each of its items: a result, or the item's own error. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Pending<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

export interface BatchOptions {
  /** Most items in one batch. */
  maxItems: number;
  /**
   * A batch goes when no item has joined for this long (the engine readies steps one check at a
   * time, a few ms apart), or when its first item has waited `maxWaitMs`.
   */
  windowMs: number;
  maxWaitMs: number;
  /** Run one batch at a time (for read-modify-write of one object). */
  serial?: boolean;
  /**
   * Keep a key's batch open (up to `maxWaitMs` after its first item) while this says more items
   * are on their way, even when none joined for `windowMs`.
   */
  holdWhile?: (key: string) => boolean;
}

/** One batcher per key (a store, a Worker). */
export class Batcher<T, R> {
  private readonly queues = new Map<string, Array<Pending<T, R>>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly firstQueuedAt = new Map<string, number>();
  /** Serial batchers: the batch running now, per key. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly run: (key: string, items: NonEmpty<T>) => Promise<Array<Outcome<R>>>,
    private readonly options: BatchOptions,
  ) {}

  /** Adds `item` to the next batch of `key`; settles with that item's outcome. */
  add(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      this.queues.set(key, queue);
      queue.push({ item, resolve, reject });
      // Nothing more on its way (`holdWhile` says so already): no window to wait for either.
      if (queue.length >= this.options.maxItems || this.options.holdWhile?.(key) === false) this.flush(key);
      else this.schedule(key);
    });
  }

  /** (Re)starts the quiet-period timer (or `afterMs`), never past `maxWaitMs` after the first queued item. */
  private schedule(key: string, afterMs = this.options.windowMs): void {
    const first = this.firstQueuedAt.get(key) ?? Date.now();
    this.firstQueuedAt.set(key, first);
    clearTimeout(this.timers.get(key));
    const wait = Math.max(0, Math.min(afterMs, first + this.options.maxWaitMs - Date.now()));
    this.timers.set(
      key,
      setTimeout(() => this.flush(key), wait),
    );
  }

  private flush(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    // One batch at a time when serial: what arrives meanwhile waits for it, then goes together.
    if (this.options.serial && this.running.has(key)) return;
    const first = this.firstQueuedAt.get(key);
    const full = (this.queues.get(key)?.length ?? 0) >= this.options.maxItems;
    if (!full && first !== undefined && Date.now() - first < this.options.maxWaitMs && this.options.holdWhile?.(key)) {
      // Asked again soon: what holds it can end any moment (the engine's last free slot taken).
      this.schedule(key, HOLD_RECHECK_MS);
      return;
    }
    this.firstQueuedAt.delete(key);
    const run = this.runBatch(key);
    const more = () => (this.queues.get(key)?.length ?? 0) > 0;
    if (!this.options.serial) {
      if (more()) this.schedule(key);
      return;
    }
    const next = run.then(() => {
      this.running.delete(key);
      // What queued during the run has waited already: it goes now (unless `holdWhile` holds it).
      if (more()) this.flush(key);
    });
    this.running.set(key, next);
  }

  private async runBatch(key: string): Promise<void> {
    const batch = (this.queues.get(key) ?? []).splice(0, this.options.maxItems);
    const [first, ...rest] = batch;
    if (!first) return;
    try {
      const outcomes = await this.run(key, [first.item, ...rest.map((p) => p.item)]);
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if (o?.ok) p.resolve(o.value);
        else p.reject(o ? o.error : new Error("batch returned no outcome for this item"));
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}

/** Settles `fn()` as an {@link Outcome}. */
export async function outcome<R>(fn: () => Promise<R>): Promise<Outcome<R>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}
