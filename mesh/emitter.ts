/**
 * A small typed event emitter for the peer runtime. It runs the same in
 * browsers and Node, and a listener that throws cannot break the emitter.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(detail: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(type: K, listener: (detail: Events[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    return () => this.off(type, listener);
  }

  off<K extends keyof Events>(type: K, listener: (detail: Events[K]) => void): void {
    this.#listeners.get(type)?.delete(listener);
  }

  protected emit<K extends keyof Events>(type: K, detail: Events[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined) return;
    for (const listener of [...set] as Array<(detail: Events[K]) => void>) {
      try {
        listener(detail);
      } catch (err) {
        // A broken listener must not stop the runtime (nor the process).
        console.error(`a listener for ${String(type)} failed:`, err);
      }
    }
  }
}
