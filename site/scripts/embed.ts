/**
 * The snippet generator on /embed/: reads the form, updates the preview widget's
 * attributes (it re-reads them live) and shows the code an embedder pastes.
 */
import { embedSnippet } from '../../components/embed-code.ts';
import { SETTINGS, SETTING_KEYS, readSettings } from '../../components/settings.ts';

const form = document.querySelector<HTMLFormElement>('#embed-form');
const code = document.querySelector<HTMLElement>('#embed-code code');
const preview = document.querySelector<HTMLElement>('#preview');
const copy = document.querySelector<HTMLButtonElement>('#copy-code');
const copyStatus = document.querySelector<HTMLElement>('#copy-status');
const previewMock = document.querySelector<HTMLInputElement>('#preview-mock');

const base = document.baseURI;
const scriptUrl = new URL('/widget/browsers-unbounded.js', location.href).href;
const READ_ONCE = SETTING_KEYS.filter((key) => SETTINGS[key].readOnce === true).map(
  (key) => SETTINGS[key].attribute,
);

/** The attribute values the form says, as strings; absent when the field is empty. */
function formValues(): Map<string, string> {
  const values = new Map<string, string>();
  if (!form) return values;
  for (const key of SETTING_KEYS) {
    const { attribute } = SETTINGS[key];
    const field = form.elements.namedItem(attribute);
    if (field instanceof HTMLInputElement && field.type === 'checkbox') {
      values.set(attribute, String(field.checked));
    } else if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) {
      if (field.value.trim() !== '') values.set(attribute, field.value.trim());
    }
  }
  return values;
}

let widget: HTMLElement | undefined;
let widgetReadOnce = '';

function render(): void {
  const values = formValues();
  const { settings, warnings } = readSettings((attribute) => values.get(attribute) ?? null, base);
  if (code) code.textContent = embedSnippet(settings, scriptUrl, base);
  for (const key of SETTING_KEYS) {
    const field = form?.elements.namedItem(SETTINGS[key].attribute);
    if (field instanceof HTMLInputElement && field.type === 'url') {
      field.setCustomValidity(warnings.has(key) ? 'Enter an http(s) URL' : '');
    }
  }
  if (!preview) return;
  if (previewMock?.checked) values.set('data-mock', 'true');
  const readOnce = READ_ONCE.map((attribute) => values.get(attribute) ?? '').join('|');
  if (!widget || readOnce !== widgetReadOnce) {
    widget?.remove();
    widget = document.createElement('browsers-unbounded');
    widgetReadOnce = readOnce;
    for (const [attribute, value] of values) widget.setAttribute(attribute, value);
    preview.append(widget);
    return;
  }
  for (const key of SETTING_KEYS) {
    const { attribute } = SETTINGS[key];
    const value = values.get(attribute);
    if (value === undefined) widget.removeAttribute(attribute);
    else if (widget.getAttribute(attribute) !== value) widget.setAttribute(attribute, value);
  }
}

form?.addEventListener('input', render);
form?.addEventListener('change', render);
form?.addEventListener('submit', (event) => event.preventDefault());
previewMock?.addEventListener('change', render);

copy?.addEventListener('click', () => {
  const text = code?.textContent ?? '';
  const done = (message: string) => {
    if (copyStatus) copyStatus.textContent = message;
  };
  navigator.clipboard.writeText(text).then(
    () => done('Copied.'),
    () => {
      // Clipboard refused (no permission, or not a secure context): select it instead.
      const selection = window.getSelection();
      if (code && selection) {
        selection.selectAllChildren(code);
        done('Select-all done: press Ctrl+C (or ⌘C) to copy.');
      }
    },
  );
});

render();
