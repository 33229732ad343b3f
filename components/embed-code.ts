import { SETTINGS, SETTING_KEYS, defaultOf, type WidgetSettings } from './settings.ts';

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The HTML an embedder pastes: the script and the element with every non-default setting. */
export function embedSnippet(settings: WidgetSettings, scriptUrl: string, base: string): string {
  const attributes = SETTING_KEYS.filter(
    (key) => key !== 'editor' && settings[key] !== defaultOf(key, base),
  ).map((key) => `\n  ${SETTINGS[key].attribute}="${escapeAttribute(String(settings[key]))}"`);
  return `<script type="module" src="${escapeAttribute(scriptUrl)}"></script>
<browsers-unbounded${attributes.join('')}></browsers-unbounded>`;
}
