import {
  SETTINGS,
  defaultSettings,
  parseSetting,
  settingForAttribute,
  type SettingKey,
  type WidgetSettings,
} from './settings.ts';

/**
 * An element's settings as its `data-*` attributes arrive and change, each parsed with the
 * table in settings.ts: a bad value falls back to the default with one warning (per value),
 * and a read-once setting no longer changes once the element has started (`fixed`).
 */
export class AttributeSettings {
  readonly #warned = new Map<string, string>();
  #value: WidgetSettings;
  /** The element has started: read-once settings keep their value. */
  fixed = false;

  /** `defaultsBase`: what default URLs resolve against (the widget's own site). */
  constructor(defaultsBase: string) {
    this.#value = defaultSettings(defaultsBase);
  }

  get value(): WidgetSettings {
    return this.#value;
  }

  /**
   * Takes an attribute's new value (null: removed); returns the setting it changed, if any. A
   * URL in the attribute resolves against `base` (the page's), a default against `defaultsBase`.
   */
  apply(
    attribute: string,
    raw: string | null,
    base: string,
    defaultsBase: string,
  ): SettingKey | undefined {
    const key = settingForAttribute(attribute);
    if (key === undefined) return undefined;
    if (SETTINGS[key].readOnce && this.fixed) {
      this.#warnOnce(
        attribute,
        `read-once:${raw}`,
        `<browsers-unbounded>: ${attribute} is read once, when the widget starts; reload the page to change it.`,
      );
      return undefined;
    }
    const parsed = parseSetting(key, raw, base, defaultsBase);
    if (parsed.warning !== undefined) this.#warnOnce(attribute, raw ?? '', parsed.warning);
    else this.#warned.delete(attribute);
    this.#value = { ...this.#value, [key]: parsed.value };
    return key;
  }

  #warnOnce(attribute: string, what: string, warning: string): void {
    if (this.#warned.get(attribute) === what) return;
    this.#warned.set(attribute, what);
    console.warn(warning);
  }
}
