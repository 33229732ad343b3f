/**
 * The element: its properties, its template and its events. Each behaviour lives in a reactive
 * controller beside it (the runtime, figures and storage, exit intent, background policy,
 * install and share, notices, sheets, media queries), its CSS in browsers-unbounded.styles.ts,
 * fixed template pieces in browsers-unbounded.parts.ts and its settings in settings.ts. What
 * is left (a little over 500 lines with its imports and documented API) is one concern, the
 * layouts and how the controllers' state reaches them, and reads better whole.
 */
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import './bu-editor.ts';
import './bu-globe.ts';
import './bu-menu.ts';
import './bu-stats.ts';
import './bu-switch.ts';
import './bu-toast.ts';
import { AttributeSettings } from './attribute-settings.ts';
import { BackgroundPolicyController } from './background-policy-controller.ts';
import { widgetStyles } from './browsers-unbounded.styles.ts';
import type { BuToast } from './bu-toast.ts';
import type { MenuItem } from './bu-menu.ts';
import { define } from './define.ts';
import { embedSnippet } from './embed-code.ts';
import { ExitIntentController } from './exit-intent-controller.ts';
import { countryName } from './format.ts';
import { aboutSheet, brand, chevron, embedSheet, statusText } from './browsers-unbounded.parts.ts';
import { InstallShareController } from './install-share-controller.ts';
import { MediaQueryController } from './media-query-controller.ts';
import { MockVolunteer } from './mock-volunteer.ts';
import { NoticeController } from './notice-controller.ts';
import {
  SETTINGS,
  SETTING_ATTRIBUTES,
  settingForAttribute,
  type WidgetSettings,
} from './settings.ts';
import { SheetController } from './sheet-controller.ts';
import { StatsController, type WidgetStats } from './stats-controller.ts';
import { VolunteerController } from './volunteer-controller.ts';
import type {
  ConnectionChange,
  VolunteerFactory,
  VolunteerRuntime,
  VolunteerState,
} from './volunteer-runtime.ts';

export type { WidgetStats };

export interface BrowsersUnboundedEventMap {
  'bu-state': CustomEvent<{ state: VolunteerState }>;
  'bu-stats': CustomEvent<WidgetStats>;
  'bu-connection': CustomEvent<ConnectionChange>;
  'bu-error': CustomEvent<{ error: Error }>;
}

const SLOTS = 5;

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

  static override styles = widgetStyles;

  declare volunteerFactory: VolunteerFactory | null;

  // Defaults come from the widget's home, not from the page that embeds it.
  readonly #attributes = new AttributeSettings(siteHome());
  #expanded = false;

  // Each behaviour is a controller; the element wires them to its settings and its template.
  readonly #volunteer = new VolunteerController(this, {
    state: (state, previous) => this.#onState(state, previous),
    connection: (change) => this.#onConnection(change),
    throughput: (bytesPerSecond) => {
      this.#figures.throughput(bytesPerSecond);
      this.#emitStats();
    },
    bytes: (up, down) => this.#figures.bytes(up, down),
    error: (error) => {
      this.#fire('bu-error', { error });
      this.requestUpdate();
    },
  });
  readonly #figures = new StatsController(this);
  readonly #exitIntent = new ExitIntentController(this, {
    active: () => this.#settings.exit && this.#settings.target === 'web' && this.#volunteer.sharing,
    onExit: () =>
      this.#toast(
        'Leaving? Keep this tab open to keep helping: closing it ends the connections of the people you are helping.',
        10_000,
      ),
  });
  readonly #background = new BackgroundPolicyController(this, {
    allowed: (coarse) => (coarse ? this.#settings.mobileBg : this.#settings.desktopBg),
    sharing: () => this.#volunteer.sharing,
    delayMs: () => BrowsersUnbounded.backgroundStopMs,
    stop: () => this.stop(),
  });
  readonly #installShare = new InstallShareController(this, {
    home: () => this.#home(),
    toast: (message) => this.#toast(message),
  });
  readonly #notice = new NoticeController(this);
  readonly #sheet = new SheetController(this, (message) => this.#toast(message));
  readonly #dark = new MediaQueryController(this, '(prefers-color-scheme: dark)');
  readonly #reducedMotion = new MediaQueryController(this, '(prefers-reduced-motion: reduce)');

  constructor() {
    super();
    this.volunteerFactory = null;
  }

  get #settings(): WidgetSettings {
    return this.#attributes.value;
  }

  // ---- public API ----------------------------------------------------------------

  /** The settings in force, after parsing and defaults. */
  get settings(): Readonly<WidgetSettings> {
    return { ...this.#settings };
  }

  get state(): VolunteerState {
    return this.#volunteer.state;
  }

  /** False when sharing cannot happen here: no runtime in this build, or a censored country. */
  get available(): boolean {
    return this.#volunteer.available;
  }

  get stats(): WidgetStats {
    return this.#figures.stats;
  }

  /** Starts sharing (if a runtime is available). Safe to call in any state. */
  start(): void {
    if (!this.available) return;
    this.#exitIntent.arm();
    this.#volunteer.start();
  }

  /** Stops sharing. Safe to call in any state. */
  stop(): void {
    this.#volunteer.stop();
  }

  /** Writes the lifetime figures to IndexedDB now; resolves when they are stored. */
  flushStats(): Promise<void> {
    return this.#figures.flush();
  }

  /** The runtime in use (a MockVolunteer in mock mode), or null if none is available. */
  get runtime(): VolunteerRuntime | null {
    return this.#volunteer.runtime;
  }

  /** Drops the runtime (tests and embedders that swap runtimes). */
  dispose(): void {
    this.#volunteer.detach();
    this.requestUpdate();
  }

  // ---- lifecycle -----------------------------------------------------------------

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    if (old === value) return;
    const key = this.#attributes.apply(name, value, document.baseURI, siteHome());
    if (key === undefined) return;
    if (key === 'collapse' && !this.#settings.collapse) this.#expanded = true;
    if (key === 'mobileBg' || key === 'desktopBg') this.#background.check();
    this.requestUpdate();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.#attributes.fixed) {
      this.#attributes.fixed = true;
      this.#ensureRuntime();
    }
  }

  override willUpdate(): void {
    if (this.#attributes.fixed && this.#volunteer.runtime === null) this.#ensureRuntime();
  }

  // ---- runtime -------------------------------------------------------------------

  #ensureRuntime(): void {
    if (this.#volunteer.runtime) return;
    const { mock, signaling } = this.#settings;
    const factory = this.volunteerFactory ?? BrowsersUnbounded.volunteerFactory;
    if (mock) this.#volunteer.attach(new MockVolunteer({ slots: SLOTS }));
    else if (factory)
      this.#volunteer.attach(
        factory({
          signaling,
          slots: SLOTS,
          // Without data-signaling the site's config.json may name another server.
          ...(this.hasAttribute(SETTINGS.signaling.attribute) ? {} : { site: siteHome() }),
        }),
      );
  }

  #onState(state: VolunteerState, previous: VolunteerState): void {
    if (state === 'starting') this.#figures.starting();
    if (state === 'off' || state === 'stopping') this.#figures.stopped();
    if (this.#settings.toast && this.#settings.target === 'web') {
      if (state === 'on') this.#toast('You are sharing your connection. Thank you!');
      else if (state === 'off' && previous !== 'off' && previous !== 'starting')
        this.#toast('Sharing stopped. Thank you for helping.');
    }
    this.#background.check();
    this.#fire('bu-state', { state });
    this.#emitStats();
  }

  #onConnection(change: ConnectionChange): void {
    const result = this.#figures.connection(change);
    if (result === null) return;
    if (result !== 'left') this.#notice.show(`Helping someone in ${countryName(change.country)}`);
    this.#fire('bu-connection', change);
    this.#emitStats();
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

  // ---- actions -------------------------------------------------------------------

  #toast(message: string, durationMs?: number): void {
    const toast = this.renderRoot.querySelector<BuToast>('bu-toast');
    toast?.show(message, durationMs);
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
    if (item === 'about' || item === 'embed') this.#sheet.show(item);
    else if (item === 'privacy') window.open(this.#home('privacy/'), '_blank', 'noopener');
    else if (item === 'install') void this.#installShare.install();
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
        ${s.branding ? brand() : nothing}
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
    const volunteer = this.#volunteer;
    const unavailable = volunteer.runtime === null;
    const censored = volunteer.location?.censored ?? false;
    const disabled =
      unavailable || censored || volunteer.state === 'stopping' || volunteer.awaitingReady;
    const sharing = volunteer.sharing;
    const layout = this.#settings.layout;
    const inlineNotice = !this.#settings.globe || layout === 'banner' || !this.#globeShown();
    return html`<div class="control">
      <bu-switch
        exportparts="switch"
        .state=${volunteer.state}
        .disabled=${disabled}
        aria-describedby="status"
        @bu-toggle=${this.#onToggle}
      ></bu-switch>
      <p class="status" part="status" id="status">
        ${statusText(volunteer, this.#figures.stats.now, this.#settings.mock)}
        ${
          this.#settings.keepText && sharing
            ? html`<strong class="keep">Keep this tab open to keep helping.</strong>`
            : nothing
        }
      </p>
      ${
        inlineNotice
          ? html`<p class="notice inline" part="notice" aria-live="polite">${this.#notice.text}</p>`
          : nothing
      }
    </div>`;
  }

  #globeShown(): boolean {
    const s = this.#settings;
    return s.globe && s.target === 'web';
  }

  #globe(): TemplateResult | typeof nothing {
    if (!this.#globeShown()) return nothing;
    const s = this.#settings;
    const dark = s.theme === 'dark' || (s.theme === 'auto' && this.#dark.matches);
    return html`<div class="globe-area">
      <bu-globe
        exportparts="globe"
        .enabled=${true}
        .selfCountry=${this.#volunteer.location?.country ?? null}
        .consumers=${this.#figures.consumers}
        .dark=${dark}
        .reducedMotion=${this.#reducedMotion.matches}
      ></bu-globe>
      ${
        s.layout === 'banner'
          ? nothing
          : html`<p class="notice" part="notice" aria-live="polite">${this.#notice.text}</p>`
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
          ? html`<button
              class="quiet"
              type="button"
              @click=${() => void this.#installShare.share()}
            >
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
              ${chevron}
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
    const { open, close } = this.#sheet;
    if (open === 'about') return aboutSheet(close);
    if (open === 'embed') {
      const code = this.#embedCode();
      return embedSheet(code, () => void this.#sheet.copy(code), close);
    }
    return nothing;
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
