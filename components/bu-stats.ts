import { LitElement, css, html } from 'lit';
import { define } from './define.ts';
import { formatBytes, formatRate } from './format.ts';
import { base } from './styles.ts';

/**
 * What sharing has done: consumers connected now and in this session, the current
 * throughput, and the lifetime totals kept in this browser.
 *
 * @csspart stats - The list of figures.
 * @csspart figure - One figure (value and caption).
 */
export class BuStats extends LitElement {
  static override properties = {
    now: { type: Number },
    total: { type: Number },
    bytesPerSecond: { type: Number },
    lifetimeBytes: { type: Number },
    lifetimeConnections: { type: Number },
    compact: { type: Boolean, reflect: true },
  };

  static override styles = [
    base,
    css`
      :host {
        display: block;
        color: var(--bu-c-fg);
        container-type: inline-size;
      }
      @container (min-width: 300px) {
        :host(:not([compact])) dl {
          grid-template-columns: repeat(6, 1fr);
        }
        :host(:not([compact])) div {
          grid-column: span 2;
        }
        :host(:not([compact])) .lifetime {
          grid-column: span 3;
        }
      }
      dl {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(7.5em, 1fr));
        gap: 8px;
        margin: 0;
      }
      div {
        background: var(--bu-c-surface);
        border-radius: 10px;
        padding: 8px 10px;
        min-width: 0;
      }
      dt {
        font-size: 0.75em;
        color: var(--bu-c-muted);
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      dd {
        margin: 2px 0 0;
        font-size: 1.05em;
        font-weight: 650;
        font-variant-numeric: tabular-nums;
        white-space: nowrap;
      }
      :host([compact]) {
        container-type: normal;
      }
      :host([compact]) dl {
        display: flex;
        gap: 18px;
      }
      :host([compact]) div {
        background: none;
        padding: 0;
        display: flex;
        flex-direction: column-reverse;
      }
      :host([compact]) .lifetime {
        display: none;
      }
    `,
  ];

  declare now: number;
  declare total: number;
  declare bytesPerSecond: number;
  declare lifetimeBytes: number;
  declare lifetimeConnections: number;
  declare compact: boolean;

  constructor() {
    super();
    this.now = 0;
    this.total = 0;
    this.bytesPerSecond = 0;
    this.lifetimeBytes = 0;
    this.lifetimeConnections = 0;
    this.compact = false;
  }

  override render() {
    const figure = (id: string, value: string, caption: string, extra = '') =>
      html`<div part="figure" class=${extra} data-stat=${id}>
        <dt>${caption}</dt>
        <dd>${value}</dd>
      </div>`;
    return html`<dl part="stats">
      ${figure('now', String(this.now), 'Helping now')}
      ${figure('total', String(this.total), 'This session')}
      ${figure('throughput', formatRate(this.bytesPerSecond), 'Throughput')}
      ${figure('lifetime-connections', String(this.lifetimeConnections), 'All-time people', 'lifetime')}
      ${figure('lifetime-bytes', formatBytes(this.lifetimeBytes), 'All-time data', 'lifetime')}
    </dl>`;
  }
}

define('bu-stats', BuStats);

declare global {
  interface HTMLElementTagNameMap {
    'bu-stats': BuStats;
  }
}
