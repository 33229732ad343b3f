import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import './bu-editor.ts';
import './bu-globe.ts';
import './bu-menu.ts';
import './bu-stats.ts';
import './bu-switch.ts';
import './bu-toast.ts';
import type { BuToast } from './bu-toast.ts';
import type { MenuItem } from './bu-menu.ts';
import { ConnectionTracker, type Consumer } from './connection-tracker.ts';
import { define } from './define.ts';
import { embedSnippet } from './embed-code.ts';
import { countryName } from './format.ts';
import { MockVolunteer } from './mock-volunteer.ts';
import {
  SETTINGS,
  SETTING_ATTRIBUTES,
  defaultOf,
  parseSetting,
  settingForAttribute,
  type SettingKey,
  type WidgetSettings,
} from './settings.ts';
import { StatsStore } from './stats-store.ts';
import { base, themeTokens } from './styles.ts';
import type {
  ConnectionChange,
  VolunteerFactory,
  VolunteerLocation,
  VolunteerRuntime,
  VolunteerState,
} from './volunteer-runtime.ts';

/** A snapshot of the figures the widget shows. */
export interface WidgetStats {
  /** Consumers connected now (several channels of one consumer count once). */
  readonly now: number;
  /** Distinct consumers since the widget was created. */
  readonly total: number;
  readonly bytesPerSecond: number;
  readonly sessionBytes: number;
  readonly lifetimeBytes: number;
  readonly lifetimeConnections: number;
}

export interface BrowsersUnboundedEventMap {
  'bu-state': CustomEvent<{ state: VolunteerState }>;
  'bu-stats': CustomEvent<WidgetStats>;
  'bu-connection': CustomEvent<ConnectionChange>;
  'bu-error': CustomEvent<{ error: Error }>;
}

type Sheet = 'about' | 'embed' | null;

const SLOTS = 5;
const FLUSH_MS = 5_000;
const NOTICE_MS = 4_000;

interface InstallPromptEvent extends Event {
  prompt(): Promise<unknown>;
}

function isInstallPrompt(event: Event | null): event is InstallPromptEvent {
  return event !== null && 'prompt' in event && typeof event.prompt === 'function';
}

const coarsePointer = () => matchMedia('(hover: none) and (pointer: coarse)').matches;

/**
 * `<browsers-unbounded>`: a switch that shares this browser's connection with people
 * behind censorship, with live stats and a globe. Every `data-*` attribute is a setting
 * (see docs/embedding.md) and is re-read whenever it changes, except `data-mock` and
 * `data-target`, which are read once.
 *
 * Real sharing needs a volunteer runtime (mesh `Volunteer`), given through
 * `BrowsersUnbounded.volunteerFactory` or the element's `volunteerFactory` property.
 * Without one, and without `data-mock="true"`, the widget says sharing is not available
 * and never pretends to share.
 *
 * @fires bu-state - The sharing state changed; `detail.state`.
 * @fires bu-stats - The figures changed (at most 4 times a second); `detail` is a WidgetStats.
 * @fires bu-connection - A consumer's connection opened or closed.
 * @fires bu-error - The runtime reported an error; `detail.error`.
 * @csspart widget - The outer box.
 * @csspart header - The row with branding and the buttons.
 * @csspart branding - The logo and name.
 * @csspart title - The title, with `data-title="true"`.
 * @csspart switch - The switch button (forwarded from bu-switch).
 * @csspart status - The sentence under the switch.
 * @csspart stats - The figures (forwarded from bu-stats).
 * @csspart globe - The globe box (forwarded from bu-globe).
 * @csspart notice - "Helping someone in …".
 * @csspart info-link - The link from `data-info-link`.
 * @csspart toast - The toast (forwarded from bu-toast).
 * @csspart sheet - The about and embed panels.
 */
export class BrowsersUnbounded extends LitElement {
  /** The runtime factory for every widget of this build; null until mesh provides one. */
  static volunteerFactory: VolunteerFactory | null = null;
  /** How long a hidden tab keeps sharing when background sharing is off. */
  static backgroundStopMs = 60_000;
  /** Where the widget's script is served, for the embed code (relative to the site). */
  static scriptPath = '/widget/browsers-unbounded.js';
  /**
   * The URL the widget's script was loaded from (widget.ts sets it from `import.meta.url`).
   * The site it came from is the widget's home: its default signaling server, its
   * `config.json`, its pages and its embed code, wherever the widget is embedded. Null (a
   * page that imports the element itself): `scriptPath` on the page's own origin.
   */
  static scriptUrl: string | null = null;

  static override properties = {
    volunteerFactory: { attribute: false },
  };

  static override get observedAttributes(): string[] {
    return [...super.observedAttributes, ...SETTING_ATTRIBUTES];
  }

  static override styles = [
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

  declare volunteerFactory: VolunteerFactory | null;

  #settings: WidgetSettings;
  #fixed = false;
  readonly #warned = new Map<string, string>();
  #runtime: VolunteerRuntime | null = null;
  #unsubscribe: (() => void)[] = [];
  #state: VolunteerState = 'off';
  #awaitingReady = false;
  #location: VolunteerLocation | null = null;
  #error: string | null = null;
  readonly #tracker = new ConnectionTracker();
  #consumers: Consumer[] = [];
  #bytesPerSecond = 0;
  #sessionBytes = 0;
  readonly #store = new StatsStore();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #backgroundTimer: ReturnType<typeof setTimeout> | undefined;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #notice = '';
  #expanded = false;
  #sheet: Sheet = null;
  #exitShown = false;
  #scrollAnchor: { y: number; t: number } | null = null;
  #dark = false;
  #reducedMotion = false;
  #installPrompt: Event | null = null;
  readonly #darkQuery = matchMedia('(prefers-color-scheme: dark)');
  readonly #motionQuery = matchMedia('(prefers-reduced-motion: reduce)');

  constructor() {
    super();
    this.volunteerFactory = null;
    // Defaults come from the widget's home, not from the page that embeds it.
    const base = siteHome();
    this.#settings = {
      layout: defaultOf('layout', base),
      theme: defaultOf('theme', base),
      globe: defaultOf('globe', base),
      exit: defaultOf('exit', base),
      toast: defaultOf('toast', base),
      keepText: defaultOf('keepText', base),
      mobileBg: defaultOf('mobileBg', base),
      desktopBg: defaultOf('desktopBg', base),
      menu: defaultOf('menu', base),
      collapse: defaultOf('collapse', base),
      branding: defaultOf('branding', base),
      title: defaultOf('title', base),
      share: defaultOf('share', base),
      infoLink: defaultOf('infoLink', base),
      editor: defaultOf('editor', base),
      mock: defaultOf('mock', base),
      target: defaultOf('target', base),
      signaling: defaultOf('signaling', base),
    };
  }

  // ---- public API ----------------------------------------------------------------

  /** The settings in force, after parsing and defaults. */
  get settings(): Readonly<WidgetSettings> {
    return { ...this.#settings };
  }

  get state(): VolunteerState {
    return this.#state;
  }

  /** False when sharing cannot happen here: no runtime in this build, or a censored country. */
  get available(): boolean {
    return this.#runtime !== null && !(this.#location?.censored ?? false);
  }

  get stats(): WidgetStats {
    const lifetime = this.#store.lifetime;
    return {
      now: this.#tracker.now,
      total: this.#tracker.total,
      bytesPerSecond: this.#bytesPerSecond,
      sessionBytes: this.#sessionBytes,
      lifetimeBytes: lifetime.bytes,
      lifetimeConnections: lifetime.connections,
    };
  }

  /** Starts sharing (if a runtime is available). Safe to call in any state. */
  start(): void {
    if (!this.available) return;
    this.#exitShown = false;
    this.#runtime?.start();
  }

  /** Stops sharing. Safe to call in any state. */
  stop(): void {
    this.#runtime?.stop();
  }

  /** Writes the lifetime figures to IndexedDB now; resolves when they are stored. */
  async flushStats(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#store.flush();
    this.requestUpdate();
  }

  /** The runtime in use (a MockVolunteer in mock mode), or null if none is available. */
  get runtime(): VolunteerRuntime | null {
    return this.#runtime;
  }

  // ---- lifecycle -----------------------------------------------------------------

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    const key = settingForAttribute(name);
    if (key !== undefined && old !== value) this.#applyAttribute(key, value);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.#fixed) {
      this.#fixed = true;
      this.#ensureRuntime();
      void this.#store.load().then(() => this.requestUpdate());
    }
    this.#dark = this.#darkQuery.matches;
    this.#reducedMotion = this.#motionQuery.matches;
    this.#darkQuery.addEventListener('change', this.#onMediaChange);
    this.#motionQuery.addEventListener('change', this.#onMediaChange);
    document.addEventListener('mouseout', this.#onMouseOut);
    document.addEventListener('visibilitychange', this.#onVisibilityChange);
    window.addEventListener('scroll', this.#onScroll, { passive: true });
    window.addEventListener('pagehide', this.#onPageHide);
    window.addEventListener('beforeinstallprompt', this.#onBeforeInstallPrompt);
    document.addEventListener('keydown', this.#onKeydown);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#darkQuery.removeEventListener('change', this.#onMediaChange);
    this.#motionQuery.removeEventListener('change', this.#onMediaChange);
    document.removeEventListener('mouseout', this.#onMouseOut);
    document.removeEventListener('visibilitychange', this.#onVisibilityChange);
    window.removeEventListener('scroll', this.#onScroll);
    window.removeEventListener('pagehide', this.#onPageHide);
    window.removeEventListener('beforeinstallprompt', this.#onBeforeInstallPrompt);
    document.removeEventListener('keydown', this.#onKeydown);
    clearTimeout(this.#backgroundTimer);
    clearTimeout(this.#noticeTimer);
    // A widget taken off the page stops sharing: nobody could see or stop it any more.
    this.#runtime?.stop();
    void this.flushStats();
  }

  override willUpdate(): void {
    if (this.#fixed && this.#runtime === null) this.#ensureRuntime();
  }

  // ---- settings ------------------------------------------------------------------

  #applyAttribute(key: SettingKey, raw: string | null): void {
    const spec = SETTINGS[key];
    if (spec.readOnce && this.#fixed) {
      if (this.#warned.get(spec.attribute) !== `read-once:${raw}`) {
        this.#warned.set(spec.attribute, `read-once:${raw}`);
        console.warn(
          `<browsers-unbounded>: ${spec.attribute} is read once, when the widget starts; reload the page to change it.`,
        );
      }
      return;
    }
    const parsed = parseSetting(key, raw, document.baseURI, siteHome());
    if (parsed.warning !== undefined) {
      if (this.#warned.get(spec.attribute) !== raw) {
        this.#warned.set(spec.attribute, raw ?? '');
        console.warn(parsed.warning);
      }
    } else this.#warned.delete(spec.attribute);
    this.#settings = { ...this.#settings, [key]: parsed.value };
    if (key === 'collapse' && !parsed.value) this.#expanded = true;
    if (key === 'mobileBg' || key === 'desktopBg') this.#onVisibilityChange();
    this.requestUpdate();
  }

  // ---- runtime -------------------------------------------------------------------

  #ensureRuntime(): void {
    if (this.#runtime) return;
    const { mock, signaling } = this.#settings;
    const factory = this.volunteerFactory ?? BrowsersUnbounded.volunteerFactory;
    if (mock) this.#runtime = new MockVolunteer({ slots: SLOTS });
    else if (factory)
      this.#runtime = factory({
        signaling,
        slots: SLOTS,
        // Without data-signaling the site's config.json may name another server.
        ...(this.hasAttribute(SETTINGS.signaling.attribute) ? {} : { site: siteHome() }),
      });
    else return;
    const runtime = this.#runtime;
    this.#state = runtime.state;
    this.#unsubscribe = [
      runtime.on('state', ({ state }) => this.#onState(state)),
      runtime.on('ready', () => {
        this.#awaitingReady = false;
        this.requestUpdate();
      }),
      runtime.on('connection', (change) => this.#onConnection(change)),
      runtime.on('throughput', ({ bytesPerSecond }) => {
        this.#bytesPerSecond = bytesPerSecond;
        this.#emitStats();
      }),
      runtime.on('bytes', ({ bytes }) => {
        if (!(bytes > 0)) return;
        this.#sessionBytes += bytes;
        this.#store.add(bytes, 0);
        this.#scheduleFlush();
      }),
      runtime.on('location', (location) => {
        this.#location = location;
        this.requestUpdate();
      }),
      runtime.on('error', ({ error }) => {
        this.#error = error.message;
        this.#fire('bu-error', { error });
        this.requestUpdate();
      }),
    ];
  }

  /** Drops the runtime (tests and embedders that swap runtimes). */
  dispose(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    this.#runtime?.dispose();
    this.#runtime = null;
    this.#state = 'off';
    this.requestUpdate();
  }

  #onState(state: VolunteerState): void {
    const previous = this.#state;
    this.#state = state;
    if (state === 'stopping') this.#awaitingReady = true;
    if (state === 'starting') this.#error = null;
    if (state === 'off' || state === 'stopping') {
      this.#tracker.closeAll();
      this.#consumers = [];
      this.#bytesPerSecond = 0;
      clearTimeout(this.#backgroundTimer);
      void this.flushStats();
    }
    if (this.#settings.toast && this.#settings.target === 'web') {
      if (state === 'on') this.#toast('You are sharing your connection. Thank you!');
      else if (state === 'off' && previous !== 'off' && previous !== 'starting')
        this.#toast('Sharing stopped. Thank you for helping.');
    }
    this.#onVisibilityChange();
    this.#fire('bu-state', { state });
    this.#emitStats();
    this.requestUpdate();
  }

  #onConnection(change: ConnectionChange): void {
    const result = this.#tracker.apply(change);
    if (result === null) return;
    if (result === 'new') {
      this.#store.add(0, 1);
      this.#scheduleFlush();
    }
    this.#consumers = this.#tracker.consumers;
    if (result !== 'left') this.#showNotice(`Helping someone in ${countryName(change.country)}`);
    this.#fire('bu-connection', change);
    this.#emitStats();
    this.requestUpdate();
  }

  #scheduleFlush(): void {
    this.#flushTimer ??= setTimeout(() => void this.flushStats(), FLUSH_MS);
  }

  #emitStats(): void {
    this.#fire('bu-stats', this.stats);
    this.requestUpdate();
  }

  #fire<K extends keyof BrowsersUnboundedEventMap>(
    type: K,
    detail: BrowsersUnboundedEventMap[K]['detail'],
  ): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  // ---- page events ---------------------------------------------------------------

  #onMediaChange = (): void => {
    this.#dark = this.#darkQuery.matches;
    this.#reducedMotion = this.#motionQuery.matches;
    this.requestUpdate();
  };

  /** Pointer leaving through the top edge of the window (desktop). */
  #onMouseOut = (event: MouseEvent): void => {
    if (event.relatedTarget === null && event.clientY <= 0) this.#exitIntent();
  };

  /** A fast scroll up, which on phones reveals the address bar and tabs. */
  #onScroll = (): void => {
    if (!coarsePointer()) return;
    const y = window.scrollY;
    const t = performance.now();
    const anchor = this.#scrollAnchor;
    if (!anchor || y > anchor.y || t - anchor.t > 400) {
      this.#scrollAnchor = { y, t };
      return;
    }
    if (anchor.y - y > 240) {
      this.#scrollAnchor = null;
      this.#exitIntent();
    }
  };

  #exitIntent(): void {
    const { exit, target } = this.#settings;
    const sharing = this.#state === 'on' || this.#state === 'starting';
    if (!exit || target !== 'web' || !sharing || this.#exitShown) return;
    this.#exitShown = true;
    this.#toast(
      'Leaving? Keep this tab open to keep helping: closing it ends the connections of the people you are helping.',
      10_000,
    );
  }

  #onVisibilityChange = (): void => {
    clearTimeout(this.#backgroundTimer);
    this.#backgroundTimer = undefined;
    const { mobileBg, desktopBg } = this.#settings;
    const allowed = coarsePointer() ? mobileBg : desktopBg;
    const sharing = this.#state === 'on' || this.#state === 'starting';
    if (document.visibilityState === 'hidden' && sharing && !allowed)
      this.#backgroundTimer = setTimeout(() => this.stop(), BrowsersUnbounded.backgroundStopMs);
  };

  #onPageHide = (): void => void this.flushStats();

  #onBeforeInstallPrompt = (event: Event): void => {
    this.#installPrompt = event;
  };

  #onKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.#sheet !== null) this.#closeSheet();
  };

  // ---- actions -------------------------------------------------------------------

  #toast(message: string, durationMs?: number): void {
    const toast = this.renderRoot.querySelector<BuToast>('bu-toast');
    toast?.show(message, durationMs);
  }

  #showNotice(text: string): void {
    this.#notice = text;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => {
      this.#notice = '';
      this.requestUpdate();
    }, NOTICE_MS);
  }

  #onToggle(event: CustomEvent<{ on: boolean }>): void {
    if (event.detail.on) this.start();
    else this.stop();
  }

  /** A page of the widget's own site (`path` relative to its root). */
  #home(path = ''): string {
    return new URL(path, siteHome()).href;
  }

  #onMenu(event: CustomEvent<{ item: MenuItem }>): void {
    const item = event.detail.item;
    if (item === 'about' || item === 'embed') this.#openSheet(item);
    else if (item === 'privacy') window.open(this.#home('privacy/'), '_blank', 'noopener');
    else if (item === 'install') void this.#install();
  }

  async #install(): Promise<void> {
    const prompt = this.#installPrompt;
    if (isInstallPrompt(prompt)) {
      this.#installPrompt = null;
      await prompt.prompt();
      return;
    }
    window.open(this.#home(), '_blank', 'noopener');
  }

  async #share(): Promise<void> {
    const data = {
      title: 'Browsers Unbounded',
      text: 'Help people get around internet censorship by sharing your connection from a browser tab.',
      url: this.#home(),
    };
    try {
      if (typeof navigator.share === 'function') await navigator.share(data);
      else {
        await navigator.clipboard.writeText(data.url);
        this.#toast('Link copied.');
      }
    } catch {
      // The user closed the share sheet, or the clipboard is not allowed: nothing to do.
    }
  }

  #openSheet(sheet: Sheet): void {
    this.#sheet = sheet;
    this.requestUpdate();
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>('.sheet h3')?.focus(),
    );
  }

  #closeSheet(): void {
    this.#sheet = null;
    this.requestUpdate();
  }

  async #copyEmbed(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.#embedCode());
      this.#toast('Embed code copied.');
    } catch {
      this.#toast('Select the code and copy it.');
    }
  }

  #embedCode(): string {
    return embedSnippet(this.#settings, scriptUrl(), siteHome());
  }

  #onSettingChange(event: CustomEvent<{ attribute: string; value: string }>): void {
    const { attribute, value } = event.detail;
    if (settingForAttribute(attribute) !== undefined) this.setAttribute(attribute, value);
  }

  #toggleExpanded(): void {
    this.#expanded = !this.#expanded;
    this.requestUpdate();
  }

  // ---- rendering -----------------------------------------------------------------

  override render(): TemplateResult | typeof nothing {
    const s = this.#settings;
    if (s.target === 'extension-offscreen') return nothing;
    const popup = s.target === 'extension-popup';
    const layout = popup ? 'popup' : s.layout;
    const collapsible = !popup && s.collapse && layout !== 'panel';
    const expanded = !collapsible || this.#expanded;
    const classes = `widget theme-${s.theme} layout-${layout} ${expanded ? 'expanded' : 'collapsed'}`;
    let body: TemplateResult;
    if (popup) body = html`${this.#control()} ${this.#stats(false)}`;
    else if (layout === 'banner')
      body = html`<div class="row top">
          ${this.#brandBlock()} ${expanded ? nothing : this.#stats(true)}
          ${this.#actions(collapsible, expanded)}
        </div>
        ${this.#control()}
        <div id="details" class="details" ?hidden=${!expanded}>
          ${this.#globe()}
          <div class="side">${this.#stats(false)} ${this.#infoLink()}</div>
        </div>`;
    else if (layout === 'floating' && !expanded)
      body = html`<div class="row">
        ${this.#control()} ${this.#actions(collapsible, expanded)}
      </div>`;
    else
      body = html`<div class="row head">
          ${this.#brandBlock()} ${this.#actions(collapsible, expanded)}
        </div>
        <div id="details" class="details">
          ${this.#globe()} ${this.#control()} ${this.#stats(false)} ${this.#infoLink()}
        </div>`;
    return html`${
        s.editor && !popup
          ? html`<div class="theme-${s.theme} editor-wrap">
              <bu-editor
                .settings=${s}
                .scriptUrl=${scriptUrl()}
                .base=${siteHome()}
                @bu-setting-change=${this.#onSettingChange}
              ></bu-editor>
            </div>`
          : nothing
      }
      <section class=${classes} part="widget" aria-label="Browsers Unbounded">
        ${body} ${this.#renderSheet()}
        ${popup ? nothing : html`<bu-toast exportparts="toast"></bu-toast>`}
      </section>`;
  }

  #brandBlock(): TemplateResult {
    const s = this.#settings;
    return html`<div class="brand-block">
      <div class="brand-line">
        ${s.branding ? this.#renderBrand() : nothing}
        ${
          s.mock
            ? html`<span class="badge" title="Demo mode: the people and traffic shown are simulated"
                >Demo</span
              >`
            : nothing
        }
      </div>
      ${
        s.title
          ? html`<h2 class="title" part="title">Help people get around internet censorship</h2>`
          : nothing
      }
    </div>`;
  }

  #control(): TemplateResult {
    const unavailable = this.#runtime === null;
    const censored = this.#location?.censored ?? false;
    const disabled = unavailable || censored || this.#state === 'stopping' || this.#awaitingReady;
    const sharing = this.#state === 'on' || this.#state === 'starting';
    const layout = this.#settings.layout;
    const inlineNotice = !this.#settings.globe || layout === 'banner' || !this.#globeShown();
    return html`<div class="control">
      <bu-switch
        exportparts="switch"
        .state=${this.#state}
        .disabled=${disabled}
        aria-describedby="status"
        @bu-toggle=${this.#onToggle}
      ></bu-switch>
      <p class="status" part="status" id="status">
        ${this.#statusText()}
        ${
          this.#settings.keepText && sharing
            ? html`<strong class="keep">Keep this tab open to keep helping.</strong>`
            : nothing
        }
      </p>
      ${
        inlineNotice
          ? html`<p class="notice inline" part="notice" aria-live="polite">${this.#notice}</p>`
          : nothing
      }
    </div>`;
  }

  #statusText(): string {
    const mock = this.#settings.mock;
    if (this.#runtime === null)
      return 'Sharing is not available in this build of the widget: it has no connection to the Browsers Unbounded network. Nothing is being shared.';
    if (this.#location?.censored)
      return `You seem to be connecting from ${countryName(this.#location.country)}, where the internet is censored, so sharing is turned off. Browsers Unbounded needs volunteers on open networks.`;
    const demo = mock ? ' (Demo: these people and this traffic are simulated.)' : '';
    switch (this.#state) {
      case 'off':
        if (this.#error !== null) return `Sharing stopped: ${this.#error}`;
        return `Turn this on to let people facing internet censorship use your connection. They can't see your browsing and you can't see theirs.${demo}`;
      case 'starting':
        return `Connecting to the network…${demo}`;
      case 'on': {
        const now = this.#tracker.now;
        if (now === 0) return `You're ready. Waiting for someone who needs a connection…${demo}`;
        return `You're helping ${now} ${now === 1 ? 'person' : 'people'} right now.${demo}`;
      }
      case 'stopping':
        return 'Closing connections…';
    }
  }

  #globeShown(): boolean {
    const s = this.#settings;
    return s.globe && s.target === 'web';
  }

  #globe(): TemplateResult | typeof nothing {
    if (!this.#globeShown()) return nothing;
    const s = this.#settings;
    const dark = s.theme === 'dark' || (s.theme === 'auto' && this.#dark);
    return html`<div class="globe-area">
      <bu-globe
        exportparts="globe"
        .enabled=${true}
        .selfCountry=${this.#location?.country ?? null}
        .consumers=${this.#consumers}
        .dark=${dark}
        .reducedMotion=${this.#reducedMotion}
      ></bu-globe>
      ${
        s.layout === 'banner'
          ? nothing
          : html`<p class="notice" part="notice" aria-live="polite">${this.#notice}</p>`
      }
    </div>`;
  }

  #stats(compact: boolean): TemplateResult {
    const stats = this.stats;
    return html`<bu-stats
      exportparts="stats"
      ?compact=${compact}
      .now=${stats.now}
      .total=${stats.total}
      .bytesPerSecond=${stats.bytesPerSecond}
      .lifetimeBytes=${stats.lifetimeBytes}
      .lifetimeConnections=${stats.lifetimeConnections}
    ></bu-stats>`;
  }

  #actions(collapsible: boolean, expanded: boolean): TemplateResult {
    const s = this.#settings;
    return html`<div class="actions">
      ${
        s.share
          ? html`<button class="quiet" type="button" @click=${() => void this.#share()}>
              Share
            </button>`
          : nothing
      }
      ${s.menu ? html`<bu-menu @bu-menu-select=${this.#onMenu}></bu-menu>` : nothing}
      ${
        collapsible
          ? html`<button
              class="quiet collapse"
              type="button"
              aria-expanded=${expanded ? 'true' : 'false'}
              aria-controls="details"
              aria-label=${expanded ? 'Show less' : 'Show more'}
              @click=${this.#toggleExpanded}
            >
              <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
                <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2" />
              </svg>
            </button>`
          : nothing
      }
    </div>`;
  }

  #infoLink(): TemplateResult | typeof nothing {
    const link = this.#settings.infoLink;
    if (link === '') return nothing;
    return html`<a class="info-link" part="info-link" href=${link} target="_blank" rel="noopener"
      >Learn more about Browsers Unbounded</a
    >`;
  }

  #renderSheet(): TemplateResult | typeof nothing {
    if (this.#sheet === null) return nothing;
    const close = html`<button
      class="quiet close"
      type="button"
      aria-label="Close"
      @click=${this.#closeSheet}
    >
      ×
    </button>`;
    if (this.#sheet === 'about')
      return html`<div class="sheet" part="sheet" role="dialog" aria-labelledby="sheet-title">
        <h3 id="sheet-title" tabindex="-1">About Browsers Unbounded</h3>
        ${close}
        <p>
          Browsers Unbounded lets anyone with an open internet connection help people in places
          where the internet is censored. When you switch it on, this tab relays their encrypted
          traffic to a server that reaches the open internet.
        </p>
        <p>
          You can't see what they browse, and they can't see your data. Sharing stops when you
          switch it off or close the tab.
        </p>
      </div>`;
    return html`<div class="sheet" part="sheet" role="dialog" aria-labelledby="sheet-title">
      <h3 id="sheet-title" tabindex="-1">Embed this widget</h3>
      ${close}
      <p>Paste this into your page's HTML:</p>
      <pre><code>${this.#embedCode()}</code></pre>
      <button class="quiet primary" type="button" @click=${() => void this.#copyEmbed()}>
        Copy code
      </button>
    </div>`;
  }

  #renderBrand(): TemplateResult {
    return html`<span class="brand" part="branding">
      <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
        <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2" />
        <path
          d="M2.5 12h19M12 2.2c2.6 2.7 3.9 6 3.9 9.8s-1.3 7.1-3.9 9.8c-2.6-2.7-3.9-6-3.9-9.8s1.3-7.1 3.9-9.8z"
          fill="none"
          stroke="currentColor"
          stroke-width="1.6"
        />
      </svg>
      <span>Browsers Unbounded</span>
    </span>`;
  }
}

/** The widget's script, as loaded (see `BrowsersUnbounded.scriptUrl`). */
function scriptUrl(): string {
  return (
    BrowsersUnbounded.scriptUrl ?? new URL(BrowsersUnbounded.scriptPath, document.baseURI).href
  );
}

/** The root of the site the widget's script came from: `/widget/x.js` → `/`. */
function siteHome(): string {
  return new URL('../', scriptUrl()).href;
}

define('browsers-unbounded', BrowsersUnbounded);

declare global {
  interface HTMLElementTagNameMap {
    'browsers-unbounded': BrowsersUnbounded;
  }
  interface HTMLElementEventMap {
    'bu-state': BrowsersUnboundedEventMap['bu-state'];
    'bu-stats': BrowsersUnboundedEventMap['bu-stats'];
    'bu-connection': BrowsersUnboundedEventMap['bu-connection'];
    'bu-error': BrowsersUnboundedEventMap['bu-error'];
  }
}
