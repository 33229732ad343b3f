import { LitElement, css, html } from 'lit';
import { define } from './define.ts';
import { embedSnippet } from './embed-code.ts';
import { SETTINGS, SETTING_KEYS, type SettingKey, type WidgetSettings } from './settings.ts';
import { base } from './styles.ts';

/**
 * A live editor of the widget's settings, shown above it with `data-editor="true"`.
 * Each control asks the widget to change one `data-*` attribute, so what it edits is
 * exactly what an embedder would write; the snippet below shows the result.
 *
 * @fires bu-setting-change - `detail.attribute` should become `detail.value`.
 * @csspart editor - The form.
 * @csspart snippet - The embed code.
 */
export class BuEditor extends LitElement {
  static override properties = {
    settings: { attribute: false },
    scriptUrl: { attribute: false },
    base: { attribute: false },
  };

  static override styles = [
    base,
    css`
      :host {
        display: block;
        color: var(--bu-c-fg);
        background: var(--bu-c-bg);
        border: 1px dashed var(--bu-c-border);
        border-radius: 14px;
        padding: 14px;
        margin-bottom: 12px;
        font-size: 0.9em;
      }
      h2 {
        font-size: 1em;
        margin: 0 0 10px;
      }
      form {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(15em, 1fr));
        gap: 8px 16px;
      }
      label {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 8px;
      }
      .note {
        color: var(--bu-c-muted);
        font-size: 0.85em;
      }
      select,
      input[type='url'] {
        font: inherit;
        color: inherit;
        background: var(--bu-c-surface);
        border: 1px solid var(--bu-c-border);
        border-radius: 8px;
        padding: 4px 6px;
        min-width: 0;
        max-width: 11em;
      }
      input[type='checkbox'] {
        width: 18px;
        height: 18px;
        accent-color: var(--bu-c-accent);
      }
      pre {
        margin: 12px 0 0;
        padding: 10px;
        background: var(--bu-c-surface);
        border-radius: 8px;
        overflow-x: auto;
        font-size: 0.85em;
      }
    `,
  ];

  declare settings: WidgetSettings | undefined;
  declare scriptUrl: string;
  declare base: string;

  constructor() {
    super();
    this.settings = undefined;
    this.scriptUrl = '';
    this.base = document.baseURI;
  }

  override render() {
    const settings = this.settings;
    if (!settings) return html``;
    return html`<h2>Widget settings</h2>
      <form part="editor" @submit=${(event: Event) => event.preventDefault()}>
        ${SETTING_KEYS.filter((key) => key !== 'editor').map((key) => this.#control(key, settings))}
      </form>
      <pre part="snippet" aria-label="Embed code"><code>${embedSnippet(
        settings,
        this.scriptUrl,
        this.base,
      )}</code></pre>`;
  }

  #control(key: SettingKey, settings: WidgetSettings) {
    const spec = SETTINGS[key];
    const value = settings[key];
    const note = spec.readOnce ? html`<span class="note">(after reload)</span>` : '';
    const id = `setting-${key}`;
    switch (spec.kind) {
      case 'boolean':
        return html`<label for=${id}
          ><span>${spec.label} ${note}</span
          ><input
            id=${id}
            type="checkbox"
            data-attribute=${spec.attribute}
            .checked=${value === true}
            @change=${(event: Event) => this.#changed(event, spec.attribute)}
        /></label>`;
      case 'choice':
        return html`<label for=${id}
          ><span>${spec.label} ${note}</span
          ><select
            id=${id}
            data-attribute=${spec.attribute}
            @change=${(event: Event) => this.#changed(event, spec.attribute)}
          >
            ${spec.options.map(
              (option) =>
                html`<option value=${option} ?selected=${option === value}>${option}</option>`,
            )}
          </select></label
        >`;
      case 'url':
        return html`<label for=${id}
          ><span>${spec.label}</span
          ><input
            id=${id}
            type="url"
            data-attribute=${spec.attribute}
            .value=${String(value)}
            placeholder="https://…"
            @change=${(event: Event) => this.#changed(event, spec.attribute)}
        /></label>`;
    }
  }

  #changed(event: Event, attribute: string): void {
    const target = event.target;
    let value: string;
    if (target instanceof HTMLInputElement)
      value = target.type === 'checkbox' ? String(target.checked) : target.value;
    else if (target instanceof HTMLSelectElement) value = target.value;
    else return;
    this.dispatchEvent(
      new CustomEvent('bu-setting-change', {
        detail: { attribute, value },
        bubbles: true,
        composed: true,
      }),
    );
  }
}

define('bu-editor', BuEditor);

declare global {
  interface HTMLElementTagNameMap {
    'bu-editor': BuEditor;
  }
}
