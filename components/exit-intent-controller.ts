import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { coarsePointer } from './device.ts';

export interface ExitIntentOptions {
  /** Whether leaving matters now (sharing, and the settings ask for the reminder). */
  readonly active: () => boolean;
  readonly onExit: () => void;
}

/**
 * Notices a visitor about to leave the page: the pointer leaving through the top edge of the
 * window (desktop), or a fast scroll up, which on phones reveals the address bar and tabs.
 * Calls `onExit` once, until `arm()` is called again.
 */
export class ExitIntentController implements ReactiveController {
  readonly #options: ExitIntentOptions;
  #shown = false;
  #anchor: { y: number; t: number } | null = null;

  constructor(host: ReactiveControllerHost, options: ExitIntentOptions) {
    this.#options = options;
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener('mouseout', this.#onMouseOut);
    window.addEventListener('scroll', this.#onScroll, { passive: true });
  }

  hostDisconnected(): void {
    document.removeEventListener('mouseout', this.#onMouseOut);
    window.removeEventListener('scroll', this.#onScroll);
  }

  /** The next exit intent is reported again (sharing started anew). */
  arm(): void {
    this.#shown = false;
  }

  readonly #onMouseOut = (event: MouseEvent): void => {
    if (event.relatedTarget === null && event.clientY <= 0) this.#intent();
  };

  readonly #onScroll = (): void => {
    if (!coarsePointer()) return;
    const y = window.scrollY;
    const t = performance.now();
    const anchor = this.#anchor;
    if (!anchor || y > anchor.y || t - anchor.t > 400) {
      this.#anchor = { y, t };
      return;
    }
    if (anchor.y - y > 240) {
      this.#anchor = null;
      this.#intent();
    }
  };

  #intent(): void {
    if (this.#shown || !this.#options.active()) return;
    this.#shown = true;
    this.#options.onExit();
  }
}
