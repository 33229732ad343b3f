import { LitElement, css, html } from 'lit';
import { define } from './define.ts';
import { base } from './styles.ts';
import type { VolunteerState } from './volunteer-runtime.ts';

const STATUS: Record<VolunteerState, string> = {
  off: 'Off',
  starting: 'Connecting…',
  on: 'Sharing',
  stopping: 'Stopping…',
};

/**
 * The on/off switch for sharing. A native button with `role="switch"`, so Space and
 * Enter work and it stays focusable while disabled (`aria-disabled`).
 *
 * @fires bu-toggle - The user asked to switch; `detail.on` is the state asked for.
 * @csspart switch - The button.
 * @csspart track - The track behind the thumb.
 * @csspart thumb - The moving knob.
 * @csspart label - The text next to the switch.
 */
export class BuSwitch extends LitElement {
  static override properties = {
    state: { reflect: true },
    disabled: { type: Boolean, reflect: true },
    label: {},
  };

  static override styles = [
    base,
    css`
      :host {
        display: inline-flex;
      }
      button {
        appearance: none;
        display: inline-flex;
        align-items: center;
        gap: 10px;
        font: inherit;
        color: var(--bu-c-fg);
        background: none;
        border: 0;
        padding: 4px;
        margin: -4px;
        border-radius: 999px;
        cursor: pointer;
      }
      button[aria-disabled='true'] {
        cursor: not-allowed;
      }
      .track {
        position: relative;
        flex: none;
        width: 52px;
        height: 30px;
        border-radius: 999px;
        background: var(--bu-c-track);
        transition: background-color 200ms ease;
      }
      .thumb {
        position: absolute;
        top: 3px;
        left: 3px;
        width: 24px;
        height: 24px;
        border-radius: 50%;
        background: #fff;
        box-shadow: 0 1px 3px rgb(0 0 0 / 30%);
        transition: transform 200ms ease;
      }
      :host([state='on']) .track,
      :host([state='starting']) .track {
        background: var(--bu-c-accent);
      }
      :host([state='on']) .thumb,
      :host([state='starting']) .thumb {
        transform: translateX(22px);
      }
      :host([state='starting']) .thumb {
        animation: pulse 1.2s ease-in-out infinite;
      }
      :host([disabled]) .track {
        opacity: 0.55;
      }
      .label {
        display: grid;
        text-align: start;
        line-height: 1.25;
      }
      .name {
        font-weight: 600;
      }
      .status {
        font-size: 0.85em;
        color: var(--bu-c-muted);
      }
      @keyframes pulse {
        50% {
          box-shadow: 0 0 0 6px rgb(255 255 255 / 35%);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .track,
        .thumb {
          transition: none;
        }
        :host([state='starting']) .thumb {
          animation: none;
        }
      }
    `,
  ];

  declare state: VolunteerState;
  declare disabled: boolean;
  declare label: string;

  constructor() {
    super();
    this.state = 'off';
    this.disabled = false;
    this.label = 'Share my connection';
  }

  override focus(options?: FocusOptions): void {
    this.renderRoot.querySelector('button')?.focus(options);
  }

  override render() {
    const checked = this.state === 'on' || this.state === 'starting';
    return html`<button
      part="switch"
      type="button"
      role="switch"
      aria-checked=${checked ? 'true' : 'false'}
      aria-disabled=${this.disabled ? 'true' : 'false'}
      @click=${this.#onClick}
    >
      <span class="track" part="track"><span class="thumb" part="thumb"></span></span>
      <span class="label" part="label">
        <span class="name">${this.label}</span>
        <span class="status" aria-live="polite">${STATUS[this.state]}</span>
      </span>
    </button>`;
  }

  #onClick(): void {
    if (this.disabled) return;
    const on = !(this.state === 'on' || this.state === 'starting');
    this.dispatchEvent(
      new CustomEvent('bu-toggle', { detail: { on }, bubbles: true, composed: true }),
    );
  }
}

define('bu-switch', BuSwitch);

declare global {
  interface HTMLElementTagNameMap {
    'bu-switch': BuSwitch;
  }
}
