import { css } from 'lit';
import { base, themeTokens } from './styles.ts';

/** The styles of `<browsers-unbounded>`: its layouts, the status, notices and the sheets. */
export const widgetStyles = [
  themeTokens,
  base,
  css`
    :host {
      display: block;
      font-size: 15px;
      line-height: 1.45;
      text-align: start;
    }
    :host([hidden]) {
      display: none;
    }
    .widget {
      position: relative;
      container-type: inline-size;
      color: var(--bu-c-fg);
      background: var(--bu-c-bg);
      border: 1px solid var(--bu-c-border);
      border-radius: var(--bu-radius, 16px);
      box-shadow: var(--bu-c-shadow);
      padding: 16px;
    }
    .row {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 12px 20px;
    }
    .head {
      flex-wrap: nowrap;
      align-items: flex-start;
    }
    .brand-block {
      flex: 1 1 auto;
      display: grid;
      gap: 4px;
      min-width: 0;
    }
    .brand-line {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 8px;
    }
    .brand {
      display: inline-flex;
      align-items: center;
      gap: 8px;
      font-weight: 700;
      letter-spacing: -0.01em;
      line-height: 1.2;
    }
    .brand svg {
      color: var(--bu-c-accent);
      flex: none;
    }
    .badge {
      font-size: 0.7em;
      font-weight: 700;
      text-transform: uppercase;
      letter-spacing: 0.06em;
      padding: 2px 8px;
      border-radius: 999px;
      background: var(--bu-c-accent-soft);
      color: var(--bu-c-fg);
    }
    .title {
      margin: 2px 0 0;
      font-size: 1.2em;
      line-height: 1.25;
      font-weight: 650;
    }
    .control {
      display: grid;
      gap: 8px;
      min-width: 0;
    }
    .status {
      margin: 0;
      color: var(--bu-c-muted);
      font-size: 0.9em;
      max-width: 40em;
    }
    .keep {
      display: block;
      margin-top: 4px;
      color: var(--bu-c-fg);
      font-weight: 600;
    }
    .actions {
      flex: none;
      display: flex;
      align-items: center;
      gap: 4px;
      margin-inline-start: auto;
    }
    .collapse svg {
      display: block;
      transition: transform 200ms ease;
    }
    .expanded .collapse svg,
    .layout-floating.collapsed .collapse svg {
      transform: rotate(180deg);
    }
    .layout-floating.expanded .collapse svg {
      transform: none;
    }
    .details {
      display: grid;
      gap: 16px;
      margin-top: 16px;
    }
    .details[hidden] {
      display: none;
    }
    .globe-area {
      position: relative;
    }
    .notice {
      margin: 0;
      font-size: 0.85em;
      font-weight: 600;
      color: var(--bu-c-fg);
    }
    .notice:empty {
      display: none;
    }
    .globe-area .notice {
      position: absolute;
      top: 6px;
      left: 50%;
      transform: translateX(-50%);
      padding: 4px 12px;
      white-space: nowrap;
      background: var(--bu-c-bg);
      border: 1px solid var(--bu-c-border);
      border-radius: 999px;
      box-shadow: var(--bu-c-shadow);
    }
    .notice.inline::before {
      content: '';
      display: inline-block;
      width: 8px;
      height: 8px;
      margin-inline-end: 8px;
      border-radius: 50%;
      background: var(--bu-c-accent);
    }
    .info-link {
      font-size: 0.9em;
      justify-self: start;
    }
    .side {
      display: grid;
      gap: 12px;
      align-content: center;
    }

    /* Banner: one calm row; expanding shows the globe beside the full figures. */
    .layout-banner {
      padding: 12px 16px;
    }
    .layout-banner .control {
      margin-top: 12px;
    }
    @container (min-width: 560px) {
      .layout-banner .top {
        flex-wrap: nowrap;
      }
      .layout-banner .control {
        grid-template-columns: auto 1fr;
        align-items: center;
        column-gap: 24px;
      }
      .layout-banner .control .notice {
        grid-column: 2;
      }
    }
    .layout-banner bu-globe {
      --bu-globe-size: 260px;
    }
    @container (min-width: 640px) {
      .layout-banner .details {
        grid-template-columns: minmax(200px, 260px) 1fr;
        align-items: center;
      }
    }

    /* Panel and floating: a card, globe on top. */
    .layout-panel,
    .layout-floating.expanded {
      max-width: 400px;
    }
    .layout-panel .details,
    .layout-floating .details {
      margin-top: 8px;
    }
    .layout-panel bu-globe,
    .layout-floating bu-globe {
      --bu-globe-size: 300px;
    }
    .layout-floating {
      position: fixed;
      right: 16px;
      bottom: 16px;
      z-index: 2147483000;
      width: min(360px, calc(100vw - 32px));
    }
    .layout-floating.collapsed {
      container-type: normal;
      width: auto;
      max-width: calc(100vw - 32px);
      padding: 10px 12px 10px 16px;
      border-radius: 999px;
    }
    .layout-floating.collapsed .status,
    .layout-floating.collapsed .notice {
      display: none;
    }
    .layout-popup {
      display: grid;
      gap: 14px;
      box-shadow: none;
      border: 0;
    }

    .sheet {
      position: absolute;
      inset: 8px;
      z-index: 4;
      overflow: auto;
      padding: 16px;
      background: var(--bu-c-bg);
      border: 1px solid var(--bu-c-border);
      border-radius: 12px;
      box-shadow: var(--bu-c-shadow);
    }
    .sheet h3 {
      margin: 0 32px 8px 0;
      font-size: 1.05em;
    }
    .sheet h3:focus {
      outline: none;
    }
    .sheet p {
      margin: 0 0 10px;
      color: var(--bu-c-muted);
    }
    .sheet .close {
      position: absolute;
      top: 8px;
      right: 8px;
      font-size: 1.2em;
    }
    .sheet pre {
      margin: 0 0 10px;
      padding: 10px;
      background: var(--bu-c-surface);
      border-radius: 8px;
      overflow-x: auto;
      font-size: 0.82em;
    }
    .primary {
      background: var(--bu-c-accent);
      color: var(--bu-c-accent-fg);
      font-weight: 600;
    }
    .primary:hover {
      background: var(--bu-c-accent);
      filter: brightness(1.08);
    }
    @media (prefers-reduced-motion: reduce) {
      .collapse svg {
        transition: none;
      }
    }
  `,
];
