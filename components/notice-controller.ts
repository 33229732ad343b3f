import type { ReactiveController, ReactiveControllerHost } from 'lit';

const NOTICE_MS = 4_000;

/** A short line ("Helping someone in …") that clears itself after a few seconds. */
export class NoticeController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  #timer: ReturnType<typeof setTimeout> | undefined;
  text = '';

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  hostDisconnected(): void {
    clearTimeout(this.#timer);
  }

  show(text: string): void {
    this.text = text;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.text = '';
      this.#host.requestUpdate();
    }, NOTICE_MS);
  }
}
