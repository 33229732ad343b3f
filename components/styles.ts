import { css } from 'lit';

/**
 * Theme tokens. Embedders override the public `--bu-*` custom properties; the parts read
 * the resolved `--bu-c-*` ones, which inherit into every shadow root below the widget. The
 * dark set is written once and applied both when chosen and, in `auto`, when the system is dark.
 */
const darkTokens = css`
  --bu-c-bg: var(--bu-background, #10151c);
  --bu-c-surface: var(--bu-surface, #18202a);
  --bu-c-fg: var(--bu-foreground, #e9eef4);
  --bu-c-muted: var(--bu-muted, #a2adbb);
  --bu-c-border: var(--bu-border, #2a3542);
  --bu-c-accent: var(--bu-accent, #43d3b8);
  --bu-c-accent-fg: var(--bu-accent-foreground, #05231d);
  --bu-c-accent-soft: var(--bu-accent-soft, #143a34);
  --bu-c-track: #3b4756;
  --bu-c-focus: var(--bu-focus, #7fb0ff);
  --bu-c-shadow: 0 1px 2px rgb(0 0 0 / 30%), 0 8px 24px rgb(0 0 0 / 35%);
  color-scheme: dark;
`;

export const themeTokens = css`
  .theme-light,
  .theme-auto {
    --bu-c-bg: var(--bu-background, #ffffff);
    --bu-c-surface: var(--bu-surface, #f3f5f8);
    --bu-c-fg: var(--bu-foreground, #18202b);
    --bu-c-muted: var(--bu-muted, #56606e);
    --bu-c-border: var(--bu-border, #dde2e9);
    --bu-c-accent: var(--bu-accent, #0b7a68);
    --bu-c-accent-fg: var(--bu-accent-foreground, #ffffff);
    --bu-c-accent-soft: var(--bu-accent-soft, #e2f4f0);
    --bu-c-track: #c3cad4;
    --bu-c-focus: var(--bu-focus, #1b5fd1);
    --bu-c-shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 8px 24px rgb(16 24 40 / 8%);
    color-scheme: light;
  }
  .theme-dark {
    ${darkTokens}
  }
  @media (prefers-color-scheme: dark) {
    .theme-auto {
      ${darkTokens}
    }
  }
`;

/** What every part shares: font, box model, focus ring, quiet buttons. */
export const base = css`
  :host {
    font-family: var(
      --bu-font-family,
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      'Helvetica Neue',
      Arial,
      sans-serif
    );
    -webkit-font-smoothing: antialiased;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  :focus-visible {
    outline: 2px solid var(--bu-c-focus);
    outline-offset: 2px;
  }
  .quiet {
    appearance: none;
    font: inherit;
    color: inherit;
    background: transparent;
    border: 1px solid transparent;
    border-radius: 8px;
    padding: 6px 10px;
    cursor: pointer;
    line-height: 1.2;
  }
  .quiet:hover {
    background: var(--bu-c-surface);
    border-color: var(--bu-c-border);
  }
  a {
    color: var(--bu-c-accent);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
