import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { coarsePointer } from './device.ts';

export interface BackgroundPolicyOptions {
  /** Whether sharing may go on in a hidden tab, on a phone (`coarse`) or a desktop. */
  readonly allowed: (coarse: boolean) => boolean;
  readonly sharing: () => boolean;
  /** How long a hidden tab keeps sharing when it is not allowed to. */
  readonly delayMs: () => number;
  readonly stop: () => void;
}

/** Stops sharing a while after the tab is hidden, where the settings do not allow it. */
export class BackgroundPolicyController implements ReactiveController {
  readonly #options: BackgroundPolicyOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(host: ReactiveControllerHost, options: BackgroundPolicyOptions) {
    this.#options = options;
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener('visibilitychange', this.check);
  }

  hostDisconnected(): void {
    document.removeEventListener('visibilitychange', this.check);
    clearTimeout(this.#timer);
  }

  /** Decides again: the visibility, the sharing state or the settings changed. */
  readonly check = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const { allowed, sharing, delayMs, stop } = this.#options;
    if (document.visibilityState === 'hidden' && sharing() && !allowed(coarsePointer()))
      this.#timer = setTimeout(stop, delayMs());
  };
}
