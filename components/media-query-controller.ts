import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Whether a media query matches, kept current (with an update) while the host is connected. */
export class MediaQueryController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #query: MediaQueryList;
  matches = false;

  constructor(host: ReactiveControllerHost, query: string) {
    this.#host = host;
    this.#query = matchMedia(query);
    host.addController(this);
  }

  hostConnected(): void {
    this.matches = this.#query.matches;
    this.#query.addEventListener('change', this.#onChange);
  }

  hostDisconnected(): void {
    this.#query.removeEventListener('change', this.#onChange);
  }

  readonly #onChange = (): void => {
    this.matches = this.#query.matches;
    this.#host.requestUpdate();
  };
}
