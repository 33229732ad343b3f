import { LitElement, css, html } from 'lit';
import { define } from './define.ts';
import { base } from './styles.ts';

/**
 * A short, polite message that goes away by itself (or with its close button). Screen
 * readers hear it through a status live region; it never takes focus.
 *
 * @fires bu-toast-close - The toast closed, by timeout or by its button.
 * @csspart toast - The message box.
 */
export class BuToast extends LitElement {
  static override properties = {
    message: {},
    open: { type: Boolean, reflect: true },
  };

  static override styles = [
    base,
    css`
      :host {
        position: absolute;
        inset: auto 12px 12px 12px;
        display: flex;
        justify-content: center;
        pointer-events: none;
        z-index: 2;
      }
      .toast {
        display: flex;
        align-items: center;
        gap: 10px;
        max-width: 34em;
        padding: 10px 8px 10px 14px;
        border-radius: 12px;
        background: var(--bu-c-fg);
        color: var(--bu-c-bg);
        box-shadow: var(--bu-c-shadow);
        font-size: 0.92em;
        line-height: 1.35;
        pointer-events: auto;
        opacity: 0;
        transform: translateY(8px);
        transition:
          opacity 180ms ease,
          transform 180ms ease;
      }
      :host(:not([open])) .toast {
        visibility: hidden;
      }
      :host([open]) .toast {
        opacity: 1;
        transform: none;
      }
      button {
        color: inherit;
        padding: 2px 8px;
        font-size: 1.1em;
      }
      button:hover {
        background: rgb(127 127 127 / 25%);
        border-color: transparent;
      }
      @media (prefers-reduced-motion: reduce) {
        .toast {
          transition: none;
          transform: none;
        }
      }
    `,
  ];

  declare message: string;
  declare open: boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.message = '';
    this.open = false;
  }

  /** Shows a message for `durationMs` (default 6 s), replacing any shown now. */
  show(message: string, durationMs = 6000): void {
    this.message = message;
    this.open = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.close(), durationMs);
  }

  close(): void {
    clearTimeout(this.#timer);
    if (!this.open) return;
    this.open = false;
    this.dispatchEvent(new CustomEvent('bu-toast-close', { bubbles: true, composed: true }));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#timer);
  }

  override render() {
    return html`<div class="toast" part="toast" role="status" aria-live="polite">
      <span>${this.open ? this.message : ''}</span>
      <button class="quiet" type="button" aria-label="Dismiss" @click=${() => this.close()}>
        ×
      </button>
    </div>`;
  }
}

define('bu-toast', BuToast);

declare global {
  interface HTMLElementTagNameMap {
    'bu-toast': BuToast;
  }
}
