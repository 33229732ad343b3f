import type { ReactiveController, ReactiveControllerHost } from 'lit';

export type Sheet = 'about' | 'embed';

/**
 * Which panel (about, embed) is open over the widget: opening one moves the focus to its
 * heading, Escape closes it; the embed panel copies its code.
 */
export class SheetController implements ReactiveController {
  readonly #host: ReactiveControllerHost & { readonly renderRoot: ParentNode };
  readonly #toast: (message: string) => void;
  open: Sheet | null = null;

  constructor(
    host: ReactiveControllerHost & { readonly renderRoot: ParentNode },
    toast: (message: string) => void,
  ) {
    this.#host = host;
    this.#toast = toast;
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener('keydown', this.#onKeydown);
  }

  hostDisconnected(): void {
    document.removeEventListener('keydown', this.#onKeydown);
  }

  show(sheet: Sheet): void {
    this.open = sheet;
    this.#host.requestUpdate();
    void this.#host.updateComplete.then(() =>
      this.#host.renderRoot.querySelector<HTMLElement>('.sheet h3')?.focus(),
    );
  }

  async copy(code: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(code);
      this.#toast('Embed code copied.');
    } catch {
      this.#toast('Select the code and copy it.');
    }
  }

  readonly close = (): void => {
    this.open = null;
    this.#host.requestUpdate();
  };

  readonly #onKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.open !== null) this.close();
  };
}
