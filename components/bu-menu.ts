import { LitElement, css, html } from 'lit';
import { define } from './define.ts';
import { base } from './styles.ts';

export type MenuItem = 'about' | 'privacy' | 'embed' | 'install';

const ITEMS: readonly { id: MenuItem; label: string }[] = [
  { id: 'about', label: 'About Browsers Unbounded' },
  { id: 'privacy', label: 'Privacy' },
  { id: 'embed', label: 'Embed on your site' },
  { id: 'install', label: 'Install the app' },
];

/**
 * The widget's menu: a disclosure button and a short list (about, privacy, embed code,
 * install app). Escape or a click outside closes it and focus returns to the button.
 *
 * @fires bu-menu-select - An item was chosen; `detail.item` is its id.
 * @csspart button - The button that opens the menu.
 * @csspart list - The list of items.
 */
export class BuMenu extends LitElement {
  static override properties = {
    open: { type: Boolean, reflect: true },
  };

  static override styles = [
    base,
    css`
      :host {
        position: relative;
        display: inline-block;
        color: var(--bu-c-fg);
      }
      .trigger {
        font-size: 1.2em;
        padding: 4px 10px;
        letter-spacing: 1px;
      }
      ul {
        position: absolute;
        right: 0;
        top: calc(100% + 6px);
        z-index: 3;
        min-width: 15em;
        margin: 0;
        padding: 6px;
        list-style: none;
        background: var(--bu-c-bg);
        border: 1px solid var(--bu-c-border);
        border-radius: 12px;
        box-shadow: var(--bu-c-shadow);
      }
      li button {
        width: 100%;
        text-align: start;
      }
    `,
  ];

  declare open: boolean;

  constructor() {
    super();
    this.open = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('click', this.#onDocumentClick);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('click', this.#onDocumentClick);
  }

  override render() {
    return html`<button
        class="quiet trigger"
        part="button"
        type="button"
        aria-expanded=${this.open ? 'true' : 'false'}
        aria-controls="items"
        aria-label="Menu"
        @click=${this.#toggle}
        @keydown=${this.#onKeydown}
      >
        ⋯
      </button>
      <ul id="items" part="list" ?hidden=${!this.open} @keydown=${this.#onKeydown}>
        ${ITEMS.map(
          (item) =>
            html`<li>
              <button class="quiet" type="button" @click=${() => this.#select(item.id)}>
                ${item.label}
              </button>
            </li>`,
        )}
      </ul>`;
  }

  #toggle(): void {
    this.open = !this.open;
    if (this.open)
      void this.updateComplete.then(() =>
        this.renderRoot.querySelector<HTMLButtonElement>('li button')?.focus(),
      );
  }

  #select(item: MenuItem): void {
    this.#close();
    this.dispatchEvent(
      new CustomEvent('bu-menu-select', { detail: { item }, bubbles: true, composed: true }),
    );
  }

  #close(): void {
    this.open = false;
    this.renderRoot.querySelector<HTMLButtonElement>('.trigger')?.focus();
  }

  #onKeydown = (event: KeyboardEvent): void => {
    if (!this.open) return;
    const items = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('li button')];
    const index = items.findIndex((item) => item === this.shadowRoot?.activeElement);
    const move = (to: number) => {
      event.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    if (event.key === 'Escape') {
      event.preventDefault();
      this.#close();
    } else if (event.key === 'ArrowDown') move(index + 1);
    else if (event.key === 'ArrowUp') move(index - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(items.length - 1);
  };

  #onDocumentClick = (event: MouseEvent): void => {
    if (this.open && !event.composedPath().includes(this)) this.open = false;
  };
}

define('bu-menu', BuMenu);

declare global {
  interface HTMLElementTagNameMap {
    'bu-menu': BuMenu;
  }
}
