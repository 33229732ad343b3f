/** Every `data-*` setting of `<browsers-unbounded>`: names, defaults and parsing. */

export const LAYOUTS = ['banner', 'panel', 'floating'] as const;
export const THEMES = ['light', 'dark', 'auto'] as const;
export const TARGETS = ['web', 'extension-offscreen', 'extension-popup'] as const;

export type Layout = (typeof LAYOUTS)[number];
export type Theme = (typeof THEMES)[number];
export type Target = (typeof TARGETS)[number];

export interface WidgetSettings {
  layout: Layout;
  theme: Theme;
  globe: boolean;
  exit: boolean;
  toast: boolean;
  keepText: boolean;
  mobileBg: boolean;
  desktopBg: boolean;
  menu: boolean;
  collapse: boolean;
  branding: boolean;
  title: boolean;
  share: boolean;
  infoLink: string;
  editor: boolean;
  mock: boolean;
  target: Target;
  signaling: string;
}

export type SettingKey = keyof WidgetSettings;

interface SpecBase {
  readonly attribute: `data-${string}`;
  readonly label: string;
  /** Read when the element first connects; later changes are ignored. */
  readonly readOnce?: boolean;
}
export interface BooleanSpec extends SpecBase {
  readonly kind: 'boolean';
  readonly fallback: boolean;
}
export interface ChoiceSpec<T extends string> extends SpecBase {
  readonly kind: 'choice';
  readonly options: readonly T[];
  readonly fallback: T;
}
export interface UrlSpec extends SpecBase {
  readonly kind: 'url';
  /** The default, resolved against the document's base URL ("" for none). */
  readonly fallback: string;
  readonly allowEmpty: boolean;
}
export type SettingSpec = BooleanSpec | ChoiceSpec<string> | UrlSpec;

type Specs = {
  readonly [K in SettingKey]: WidgetSettings[K] extends boolean
    ? BooleanSpec
    : WidgetSettings[K] extends Layout | Theme | Target
      ? ChoiceSpec<WidgetSettings[K]>
      : UrlSpec;
};

const flag = (attribute: `data-${string}`, fallback: boolean, label: string): BooleanSpec => ({
  kind: 'boolean',
  attribute,
  fallback,
  label,
});

export const SETTINGS: Specs = {
  layout: {
    kind: 'choice',
    attribute: 'data-layout',
    options: LAYOUTS,
    fallback: 'banner',
    label: 'Layout',
  },
  theme: {
    kind: 'choice',
    attribute: 'data-theme',
    options: THEMES,
    fallback: 'light',
    label: 'Theme',
  },
  globe: flag('data-globe', true, 'Globe'),
  exit: flag('data-exit', true, 'Reminder when leaving the page'),
  toast: flag('data-toast', false, 'Notice when switched'),
  keepText: flag('data-keep-text', true, '"Keep this tab open" text'),
  mobileBg: flag('data-mobile-bg', true, 'Keep sharing in a background tab (mobile)'),
  desktopBg: flag('data-desktop-bg', true, 'Keep sharing in a background tab (desktop)'),
  menu: flag('data-menu', false, 'Menu'),
  collapse: flag('data-collapse', true, 'Banner can expand and collapse'),
  branding: flag('data-branding', true, 'Branding'),
  title: flag('data-title', false, 'Title'),
  share: flag('data-share', false, 'Share button'),
  infoLink: {
    kind: 'url',
    attribute: 'data-info-link',
    fallback: '',
    allowEmpty: true,
    label: 'Info link',
  },
  editor: flag('data-editor', false, 'Editor'),
  mock: { ...flag('data-mock', false, 'Mock mode (fake peers, no network)'), readOnce: true },
  target: {
    kind: 'choice',
    attribute: 'data-target',
    options: TARGETS,
    fallback: 'web',
    label: 'Target',
    readOnce: true,
  },
  signaling: {
    kind: 'url',
    attribute: 'data-signaling',
    fallback: '/signal/',
    allowEmpty: false,
    label: 'Signaling server',
  },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

export const SETTING_ATTRIBUTES: readonly string[] = SETTING_KEYS.map(
  (key) => SETTINGS[key].attribute,
);

export function settingForAttribute(attribute: string): SettingKey | undefined {
  return SETTING_KEYS.find((key) => SETTINGS[key].attribute === attribute);
}

export interface Parsed<T> {
  readonly value: T;
  /** Set when the attribute held a bad value and the default was used instead. */
  readonly warning?: string;
}

function resolveUrl(raw: string, base: string): string | undefined {
  try {
    const url = new URL(raw, base);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The default of one setting, with URLs resolved against `base`. */
export function defaultOf<K extends SettingKey>(key: K, base: string): WidgetSettings[K] {
  const spec: SettingSpec = SETTINGS[key];
  if (spec.kind === 'url' && spec.fallback !== '')
    return (resolveUrl(spec.fallback, base) ?? '') as WidgetSettings[K];
  return spec.fallback as WidgetSettings[K];
}

/** Every setting's default, from the table above; URLs resolved against `base`. */
export function defaultSettings(base: string): WidgetSettings {
  const entries = SETTING_KEYS.map((key) => [key, defaultOf(key, base)] as const);
  return Object.fromEntries(entries) as unknown as WidgetSettings;
}

/**
 * Parses one attribute value. `null` (absent) gives the default silently; a bad value gives
 * the default and a warning that names the attribute. A URL in the attribute is resolved
 * against `base` (the page's), a default against `defaultsBase` (the widget's own site).
 */
export function parseSetting<K extends SettingKey>(
  key: K,
  raw: string | null,
  base: string,
  defaultsBase: string = base,
): Parsed<WidgetSettings[K]> {
  const spec: SettingSpec = SETTINGS[key];
  const fallback = defaultOf(key, defaultsBase);
  if (raw === null) return { value: fallback };
  const text = raw.trim();
  let value: unknown;
  let expected: string;
  switch (spec.kind) {
    case 'boolean':
      expected = 'true or false';
      value = text === 'true' ? true : text === 'false' ? false : undefined;
      break;
    case 'choice':
      expected = spec.options.join(', ');
      value = spec.options.find((option) => option === text);
      break;
    case 'url':
      expected = spec.allowEmpty ? 'an http(s) URL or empty' : 'an http(s) URL';
      value = text === '' && spec.allowEmpty ? '' : resolveUrl(text, base);
      break;
  }
  if (value !== undefined) return { value: value as WidgetSettings[K] };
  const shown = fallback === '' ? 'empty' : String(fallback);
  return {
    value: fallback,
    warning: `<browsers-unbounded>: ${spec.attribute}="${raw}" is not valid (expected ${expected}); using the default (${shown}).`,
  };
}

/** All settings of an element, each parsed from its attribute. */
export function readSettings(
  get: (attribute: string) => string | null,
  base: string,
): { settings: WidgetSettings; warnings: Map<SettingKey, string> } {
  const warnings = new Map<SettingKey, string>();
  const entries = SETTING_KEYS.map((key) => {
    const parsed = parseSetting(key, get(SETTINGS[key].attribute), base);
    if (parsed.warning !== undefined) warnings.set(key, parsed.warning);
    return [key, parsed.value] as const;
  });
  return { settings: Object.fromEntries(entries) as unknown as WidgetSettings, warnings };
}
