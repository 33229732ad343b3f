import { createStore, get, update, type UseStore } from 'idb-keyval';

/** What a volunteer has done in this browser, over every session. */
export interface LifetimeStats {
  readonly bytes: number;
  readonly connections: number;
}

export const EMPTY_LIFETIME: LifetimeStats = { bytes: 0, connections: 0 };

const KEY = 'lifetime';

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;

/** IndexedDB holds whatever another script put there: check it, never trust its shape. */
export function toLifetime(stored: unknown): LifetimeStats {
  if (typeof stored !== 'object' || stored === null) return EMPTY_LIFETIME;
  return {
    bytes: count(Reflect.get(stored, 'bytes')),
    connections: count(Reflect.get(stored, 'connections')),
  };
}

const sum = (a: LifetimeStats, b: LifetimeStats): LifetimeStats => ({
  bytes: a.bytes + b.bytes,
  connections: a.connections + b.connections,
});

/**
 * Lifetime bytes and connections in IndexedDB (idb-keyval), shared by every widget of
 * the origin. Additions are merged into the stored value in one transaction, so two tabs
 * don't overwrite each other's counts.
 */
export class StatsStore {
  readonly #store: UseStore;
  #stored: LifetimeStats = EMPTY_LIFETIME;
  #inflight: LifetimeStats = EMPTY_LIFETIME;
  #pending: LifetimeStats = EMPTY_LIFETIME;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(databaseName = 'browsers-unbounded') {
    this.#store = createStore(databaseName, 'stats');
  }

  /** The stored totals as last read, plus everything added since. */
  get lifetime(): LifetimeStats {
    return sum(sum(this.#stored, this.#inflight), this.#pending);
  }

  /** Reads the stored totals (another tab may have added to them). */
  async load(): Promise<LifetimeStats> {
    this.#stored = await this.#read();
    return this.lifetime;
  }

  add(bytes: number, connections: number): void {
    this.#pending = sum(this.#pending, { bytes, connections });
  }

  /** Writes what was added since the last flush; resolves to the new lifetime totals. */
  flush(): Promise<LifetimeStats> {
    const step = this.#chain.then(async () => {
      const adding = this.#pending;
      if (adding.bytes === 0 && adding.connections === 0) return this.load();
      this.#pending = EMPTY_LIFETIME;
      this.#inflight = adding;
      try {
        // One read-modify-write transaction, so tabs of the same origin add up correctly.
        await update(KEY, (stored: unknown) => sum(toLifetime(stored), adding), this.#store);
        this.#stored = await this.#read();
        this.#inflight = EMPTY_LIFETIME;
      } catch {
        // Storage refused (private mode, quota): keep the counts in memory and show them.
        this.#stored = sum(this.#stored, adding);
        this.#inflight = EMPTY_LIFETIME;
      }
      return this.lifetime;
    });
    this.#chain = step.catch(() => undefined);
    return step;
  }

  async #read(): Promise<LifetimeStats> {
    try {
      return toLifetime(await get(KEY, this.#store));
    } catch {
      return this.#stored;
    }
  }
}
