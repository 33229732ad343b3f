import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ConnectionTracker, type Consumer } from './connection-tracker.ts';
import { StatsStore } from './stats-store.ts';
import type { ConnectionChange } from './volunteer-runtime.ts';

/** A snapshot of the figures the widget shows. */
export interface WidgetStats {
  /** Consumers connected now (several channels of one consumer count once). */
  readonly now: number;
  /** Distinct consumers since the widget was created. */
  readonly total: number;
  readonly bytesPerSecond: number;
  readonly sessionBytes: number;
  readonly lifetimeBytes: number;
  readonly lifetimeConnections: number;
}

const FLUSH_MS = 5_000;

/**
 * The widget's figures: consumers now and in total, throughput, this session's bytes, and the
 * lifetime totals, which it adds to IndexedDB (StatsStore) a few seconds after they change,
 * when sharing stops, when the page is hidden for good and when the widget leaves the page.
 */
export class StatsController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #tracker = new ConnectionTracker();
  readonly #store = new StatsStore();
  #loaded = false;
  #consumers: Consumer[] = [];
  #bytesPerSecond = 0;
  #sessionBytes = 0;
  /** The runtime's byte total at its last report: it counts from its last start. */
  #runtimeBytes = 0;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    if (!this.#loaded) {
      this.#loaded = true;
      void this.#store.load().then(() => this.#host.requestUpdate());
    }
    window.addEventListener('pagehide', this.#onPageHide);
  }

  hostDisconnected(): void {
    window.removeEventListener('pagehide', this.#onPageHide);
    void this.flush();
  }

  get stats(): WidgetStats {
    const lifetime = this.#store.lifetime;
    return {
      now: this.#tracker.now,
      total: this.#tracker.total,
      bytesPerSecond: this.#bytesPerSecond,
      sessionBytes: this.#sessionBytes,
      lifetimeBytes: lifetime.bytes,
      lifetimeConnections: lifetime.connections,
    };
  }

  /** The consumers connected now, for the globe. */
  get consumers(): readonly Consumer[] {
    return this.#consumers;
  }

  /** The runtime is starting: its byte totals start from zero. */
  starting(): void {
    this.#runtimeBytes = 0;
  }

  /** The runtime stopped: everyone left, nothing flows, and the totals are stored. */
  stopped(): void {
    this.#tracker.closeAll();
    this.#consumers = [];
    this.#bytesPerSecond = 0;
    void this.flush();
  }

  throughput(bytesPerSecond: number): void {
    this.#bytesPerSecond = bytesPerSecond;
  }

  /** The runtime's totals since its start; what is new is added. */
  bytes(up: number, down: number): void {
    const bytes = up + down - this.#runtimeBytes;
    this.#runtimeBytes = up + down;
    if (!(bytes > 0)) return;
    this.#sessionBytes += bytes;
    this.#store.add(bytes, 0);
    this.#scheduleFlush();
  }

  /** Applies a consumer's arrival or departure (see ConnectionTracker.apply). */
  connection(change: ConnectionChange): ReturnType<ConnectionTracker['apply']> {
    const result = this.#tracker.apply(change);
    if (result === 'new') {
      this.#store.add(0, 1);
      this.#scheduleFlush();
    }
    if (result !== null) this.#consumers = this.#tracker.consumers;
    return result;
  }

  /** Writes the lifetime figures to IndexedDB now; resolves when they are stored. */
  async flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#store.flush();
    this.#host.requestUpdate();
  }

  #scheduleFlush(): void {
    this.#flushTimer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  readonly #onPageHide = (): void => void this.flush();
}
