import { LitElement, css, html, type PropertyValues } from 'lit';
import type { Consumer } from './connection-tracker.ts';
import { define } from './define.ts';
import type { GlobeScene, GlobeSceneOptions } from './globe-scene.ts';
import { base } from './styles.ts';

export type GlobeStatus = 'idle' | 'loading' | 'ready' | 'failed';

export interface GlobeSceneModule {
  createGlobeScene(container: HTMLElement, options: GlobeSceneOptions): GlobeScene;
}

/**
 * The globe, loaded lazily: globe.gl and three are fetched only once `enabled` is true
 * and the element is on screen (IntersectionObserver). Until then, and where WebGL is
 * missing, a calm flat placeholder stands in.
 *
 * @fires bu-globe-status - `detail.status` changed: idle, loading, ready or failed.
 * @csspart globe - The box the globe renders into.
 */
export class BuGlobe extends LitElement {
  /** How the scene module is loaded; tests replace it to watch or stub the import. */
  static loadScene: () => Promise<GlobeSceneModule> = () => import('./globe-scene.ts');

  static override properties = {
    enabled: { type: Boolean },
    selfCountry: { attribute: false },
    consumers: { attribute: false },
    dark: { type: Boolean },
    reducedMotion: { type: Boolean },
    status: { reflect: true },
  };

  static override styles = [
    base,
    css`
      :host {
        display: block;
        position: relative;
        aspect-ratio: 1;
        width: 100%;
        max-width: var(--bu-globe-size, 320px);
        margin-inline: auto;
      }
      .box {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        overflow: hidden;
        border-radius: 50%;
      }
      .placeholder {
        width: 78%;
        aspect-ratio: 1;
        border-radius: 50%;
        background:
          radial-gradient(circle at 35% 30%, rgb(255 255 255 / 35%), transparent 55%),
          var(--bu-c-surface);
        box-shadow: inset 0 0 0 1px var(--bu-c-border);
      }
      :host([status='ready']) .placeholder {
        display: none;
      }
    `,
  ];

  declare enabled: boolean;
  declare selfCountry: string | null;
  declare consumers: readonly Consumer[];
  declare dark: boolean;
  declare reducedMotion: boolean;
  declare status: GlobeStatus;

  #visible = false;
  #observer: IntersectionObserver | undefined;
  #resizeObserver: ResizeObserver | undefined;
  #scene: GlobeScene | undefined;

  constructor() {
    super();
    this.enabled = false;
    this.selfCountry = null;
    this.consumers = [];
    this.dark = false;
    this.reducedMotion = false;
    this.status = 'idle';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#observer = new IntersectionObserver((entries) => {
      this.#visible = entries.some((entry) => entry.isIntersecting);
      this.#maybeLoad();
    });
    this.#observer.observe(this);
    this.#resizeObserver = new ResizeObserver(() => this.#resize());
    this.#resizeObserver.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#observer?.disconnect();
    this.#resizeObserver?.disconnect();
    this.#visible = false;
    this.#scene?.dispose();
    this.#scene = undefined;
    if (this.status === 'ready') this.#setStatus('idle');
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('enabled')) this.#maybeLoad();
    if (!this.#scene) return;
    if (changed.has('dark')) this.#scene.setTheme(this.dark);
    if (changed.has('reducedMotion')) this.#scene.setReducedMotion(this.reducedMotion);
    if (changed.has('consumers') || changed.has('selfCountry'))
      this.#scene.update(this.selfCountry, this.consumers);
  }

  override render() {
    return html`<div class="box" part="globe" role="img" aria-label=${this.#description()}>
      <div class="placeholder"></div>
      <div class="scene"></div>
    </div>`;
  }

  #description(): string {
    const count = this.consumers.length;
    if (count === 0) return 'Globe: nobody connected right now';
    return `Globe: ${count} ${count === 1 ? 'person' : 'people'} connected through you`;
  }

  #maybeLoad(): void {
    if (!this.enabled || !this.#visible || this.status !== 'idle') return;
    this.#setStatus('loading');
    BuGlobe.loadScene()
      .then((module) => {
        const container = this.renderRoot.querySelector<HTMLElement>('.scene');
        if (!container || !this.isConnected) {
          this.#setStatus('idle');
          return;
        }
        const { width, height } = this.#size();
        this.#scene = module.createGlobeScene(container, {
          width,
          height,
          dark: this.dark,
          reducedMotion: this.reducedMotion,
        });
        this.#scene.update(this.selfCountry, this.consumers);
        this.#setStatus('ready');
      })
      .catch((error: unknown) => {
        // No WebGL, or the chunk failed to load: the placeholder stays, nothing breaks.
        console.warn('<browsers-unbounded>: the globe could not be shown.', error);
        this.#setStatus('failed');
      });
  }

  #size(): { width: number; height: number } {
    const side = Math.max(1, Math.round(this.getBoundingClientRect().width));
    return { width: side, height: side };
  }

  #resize(): void {
    const { width, height } = this.#size();
    this.#scene?.resize(width, height);
  }

  #setStatus(status: GlobeStatus): void {
    this.status = status;
    this.dispatchEvent(
      new CustomEvent('bu-globe-status', { detail: { status }, bubbles: true, composed: true }),
    );
  }
}

define('bu-globe', BuGlobe);

declare global {
  interface HTMLElementTagNameMap {
    'bu-globe': BuGlobe;
  }
}
