import type { ReactiveController, ReactiveControllerHost } from 'lit';

interface InstallPromptEvent extends Event {
  prompt(): Promise<unknown>;
}

function isInstallPrompt(event: Event | null): event is InstallPromptEvent {
  return event !== null && 'prompt' in event && typeof event.prompt === 'function';
}

export interface InstallShareOptions {
  /** The widget's own site: what is installed and shared. */
  readonly home: () => string;
  readonly toast: (message: string) => void;
}

/**
 * Installing the site as an app (the browser's own prompt when it offered one, else the site
 * in a new tab) and sharing a link to it (the share sheet, else the clipboard).
 */
export class InstallShareController implements ReactiveController {
  readonly #options: InstallShareOptions;
  #prompt: Event | null = null;

  constructor(host: ReactiveControllerHost, options: InstallShareOptions) {
    this.#options = options;
    host.addController(this);
  }

  hostConnected(): void {
    window.addEventListener('beforeinstallprompt', this.#onPrompt);
  }

  hostDisconnected(): void {
    window.removeEventListener('beforeinstallprompt', this.#onPrompt);
  }

  async install(): Promise<void> {
    const prompt = this.#prompt;
    if (isInstallPrompt(prompt)) {
      this.#prompt = null;
      await prompt.prompt();
      return;
    }
    window.open(this.#options.home(), '_blank', 'noopener');
  }

  async share(): Promise<void> {
    const data = {
      title: 'Browsers Unbounded',
      text: 'Help people get around internet censorship by sharing your connection from a browser tab.',
      url: this.#options.home(),
    };
    try {
      if (typeof navigator.share === 'function') await navigator.share(data);
      else {
        await navigator.clipboard.writeText(data.url);
        this.#options.toast('Link copied.');
      }
    } catch {
      // The user closed the share sheet, or the clipboard is not allowed: nothing to do.
    }
  }

  readonly #onPrompt = (event: Event): void => {
    this.#prompt = event;
  };
}
