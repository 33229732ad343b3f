import { sendKeys } from '@web/test-runner-commands';
import { clear, createStore } from 'idb-keyval';
import { BrowsersUnbounded } from '../browsers-unbounded.ts';
import { BuGlobe, type GlobeSceneModule } from '../bu-globe.ts';
import { Emitter } from '../../mesh/emitter.ts';
import { MockVolunteer } from '../mock-volunteer.ts';
import type { VolunteerEventMap, VolunteerRuntime, VolunteerState } from '../volunteer-runtime.ts';
import {
  afterEach,
  beforeEach,
  captureWarnings,
  deepEqual,
  describe,
  equal,
  frame,
  it,
  nextEvent,
  ok,
  sleep,
  until,
} from './harness.ts';

const created: HTMLElement[] = [];

async function mount(attributes: Record<string, string> = {}, parent: HTMLElement = document.body) {
  const element = document.createElement('browsers-unbounded');
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  parent.append(element);
  created.push(element);
  await element.updateComplete;
  return element;
}

const shadow = (element: BrowsersUnbounded) => {
  const root = element.shadowRoot;
  ok(root, 'no shadow root');
  return root;
};

const switchButton = async (element: BrowsersUnbounded) => {
  const part = shadow(element).querySelector('bu-switch');
  ok(part, 'no bu-switch');
  await part.updateComplete;
  const button = part.shadowRoot?.querySelector('button');
  ok(button, 'no switch button');
  return button;
};

/** A mock whose peers and traffic come only from the test. */
const quietMock = () => new MockVolunteer({ auto: false, startDelayMs: 5, stopDelayMs: 5 });

/** A runtime the test drives by hand, to hold `ready` back after a stop. */
class ManualRuntime extends Emitter<VolunteerEventMap> implements VolunteerRuntime {
  slots = 5;
  state: VolunteerState = 'off';
  fire<K extends keyof VolunteerEventMap>(type: K, detail: VolunteerEventMap[K]) {
    this.emit(type, detail);
  }
  set(state: VolunteerState) {
    this.state = state;
    this.emit('state', { state });
  }
  start() {
    this.set('starting');
    return Promise.resolve();
  }
  stop() {
    this.set('stopping');
    return Promise.resolve();
  }
}

const statsStore = createStore('browsers-unbounded', 'stats');

beforeEach(async () => {
  BrowsersUnbounded.volunteerFactory = null;
  await clear(statsStore);
});

afterEach(async () => {
  for (const element of created.splice(0)) {
    element.remove();
    // Let the flush on disconnect finish, so it does not land in the next test's store.
    if (element instanceof BrowsersUnbounded) await element.flushStats();
  }
  BrowsersUnbounded.volunteerFactory = null;
});

describe('<browsers-unbounded> settings', () => {
  it('uses the defaults when no attribute is set', async () => {
    const element = await mount();
    const settings = element.settings;
    equal(settings.layout, 'banner');
    equal(settings.theme, 'light');
    equal(settings.globe, true);
    equal(settings.toast, false);
    equal(settings.collapse, true);
    equal(settings.mock, false);
    equal(settings.target, 'web');
    equal(settings.signaling, new URL('/signal/', location.href).href);
    ok(shadow(element).querySelector('.widget.layout-banner.theme-light'));
  });

  it('reads every attribute', async () => {
    const element = await mount({
      'data-layout': 'panel',
      'data-theme': 'dark',
      'data-globe': 'false',
      'data-keep-text': 'false',
      'data-menu': 'true',
      'data-title': 'true',
      'data-share': 'true',
      'data-info-link': 'https://example.org/about',
    });
    const s = element.settings;
    deepEqual(
      [s.layout, s.theme, s.globe, s.keepText, s.menu, s.title, s.share, s.infoLink],
      ['panel', 'dark', false, false, true, true, true, 'https://example.org/about'],
    );
    const root = shadow(element);
    ok(root.querySelector('.widget.layout-panel.theme-dark'));
    ok(root.querySelector('bu-menu'), 'menu shown');
    ok(root.querySelector('.title'), 'title shown');
    equal(root.querySelector('bu-globe'), null, 'no globe');
    equal(root.querySelector('.info-link')?.getAttribute('href'), 'https://example.org/about');
  });

  it('warns once, naming the attribute, and falls back to the default', async () => {
    const warnings = captureWarnings();
    try {
      const element = await mount({ 'data-layout': 'sideways', 'data-globe': 'yes' });
      equal(element.settings.layout, 'banner');
      equal(element.settings.globe, true);
      element.requestUpdate();
      await element.updateComplete;
      element.setAttribute('data-theme', 'dark');
      await element.updateComplete;
      equal(warnings.messages.filter((m) => m.includes('data-layout')).length, 1);
      equal(warnings.messages.filter((m) => m.includes('data-globe')).length, 1);
      equal(warnings.messages.length, 2);
    } finally {
      warnings.restore();
    }
  });

  it('updates live when an attribute changes', async () => {
    const element = await mount({ 'data-mock': 'true' });
    element.setAttribute('data-layout', 'panel');
    element.setAttribute('data-theme', 'dark');
    await element.updateComplete;
    ok(shadow(element).querySelector('.widget.layout-panel.theme-dark'));
    element.setAttribute('data-title', 'true');
    await element.updateComplete;
    ok(shadow(element).querySelector('.title'));
    element.removeAttribute('data-layout');
    await element.updateComplete;
    ok(shadow(element).querySelector('.widget.layout-banner'));
  });

  it('reads data-mock and data-target once', async () => {
    const warnings = captureWarnings();
    try {
      const element = await mount({ 'data-mock': 'true' });
      ok(element.runtime instanceof MockVolunteer);
      element.setAttribute('data-mock', 'false');
      element.setAttribute('data-target', 'extension-popup');
      await element.updateComplete;
      equal(element.settings.mock, true);
      equal(element.settings.target, 'web');
      ok(element.runtime instanceof MockVolunteer);
      equal(warnings.messages.length, 2);
    } finally {
      warnings.restore();
    }
  });

  it('edits its own attributes from the editor', async () => {
    const element = await mount({ 'data-editor': 'true', 'data-mock': 'true' });
    const editor = shadow(element).querySelector('bu-editor');
    ok(editor);
    await editor.updateComplete;
    const select = editor.shadowRoot?.querySelector<HTMLSelectElement>('#setting-layout');
    ok(select);
    select.value = 'floating';
    select.dispatchEvent(new Event('change'));
    const globe = editor.shadowRoot?.querySelector<HTMLInputElement>('#setting-globe');
    ok(globe);
    globe.click();
    await element.updateComplete;
    equal(element.getAttribute('data-layout'), 'floating');
    equal(element.getAttribute('data-globe'), 'false');
    equal(element.settings.layout, 'floating');
    ok(shadow(element).querySelector('.widget.layout-floating'));
    await editor.updateComplete;
    ok(editor.shadowRoot?.querySelector('pre')?.textContent?.includes('data-layout="floating"'));
  });
});

describe('<browsers-unbounded> sharing', () => {
  it('is honest when no volunteer runtime is available', async () => {
    const element = await mount();
    const button = await switchButton(element);
    equal(button.getAttribute('aria-disabled'), 'true');
    ok(shadow(element).querySelector('.status')?.textContent?.includes('not available'));
    button.click();
    element.start();
    await element.updateComplete;
    equal(element.state, 'off');
    equal(element.runtime, null);
  });

  it('uses a runtime from the factory when data-mock is false', async () => {
    let signaling = '';
    BrowsersUnbounded.volunteerFactory = (options) => {
      signaling = options.signaling;
      return quietMock();
    };
    const element = await mount({ 'data-signaling': 'https://signal.example/signal/' });
    equal(signaling, 'https://signal.example/signal/');
    equal((await switchButton(element)).getAttribute('aria-disabled'), 'false');
  });

  it("takes its defaults from its script's site, not from the embedding page", async () => {
    const options: { signaling: string; site?: string }[] = [];
    BrowsersUnbounded.volunteerFactory = (given) => {
      options.push(given);
      return quietMock();
    };
    BrowsersUnbounded.scriptUrl = 'https://bu.example.org/widget/browsers-unbounded.js';
    try {
      const element = await mount();
      equal(element.settings.signaling, 'https://bu.example.org/signal/');
      // No data-signaling: the runtime reads that site's config.json.
      deepEqual(options.at(-1), {
        signaling: 'https://bu.example.org/signal/',
        slots: 5,
        site: 'https://bu.example.org/',
      });
      // The page's own data-signaling, relative to the page, and no config.json.
      await mount({ 'data-signaling': '/mine/' });
      deepEqual(options.at(-1), { signaling: new URL('/mine/', location.href).href, slots: 5 });
      // The embed code loads the script from its site and leaves the default out.
      element.setAttribute('data-editor', 'true');
      await element.updateComplete;
      const editor = shadow(element).querySelector('bu-editor');
      await (editor as unknown as { updateComplete: Promise<unknown> } | null)?.updateComplete;
      const code = editor?.shadowRoot?.querySelector('code')?.textContent ?? '';
      ok(
        code.startsWith(
          '<script type="module" src="https://bu.example.org/widget/browsers-unbounded.js">',
        ),
        code,
      );
      ok(!code.includes('data-signaling'), code);
    } finally {
      BrowsersUnbounded.scriptUrl = null;
    }
  });

  it('switches off → starting → on → stopping → off from the keyboard', async () => {
    BrowsersUnbounded.volunteerFactory = quietMock;
    const element = await mount();
    const button = await switchButton(element);
    equal(button.getAttribute('role'), 'switch');
    equal(button.getAttribute('aria-checked'), 'false');
    const states: VolunteerState[] = [];
    element.addEventListener('bu-state', (event) => states.push(event.detail.state));
    button.focus();
    const on = nextEvent<{ state: string }>(element, 'bu-state', (d) => d.state === 'on');
    await sendKeys({ press: 'Space' });
    await on;
    await element.updateComplete;
    equal(button.getAttribute('aria-checked'), 'true');
    const off = nextEvent<{ state: string }>(element, 'bu-state', (d) => d.state === 'off');
    await sendKeys({ press: 'Enter' });
    await off;
    deepEqual(states, ['starting', 'on', 'stopping', 'off']);
    await element.updateComplete;
    equal(button.getAttribute('aria-checked'), 'false');
    equal(button.getAttribute('aria-disabled'), 'false');
  });

  it('stays disabled after stopping until the runtime is ready', async () => {
    const runtime = new ManualRuntime();
    BrowsersUnbounded.volunteerFactory = () => runtime;
    const element = await mount();
    const button = await switchButton(element);
    button.click();
    runtime.set('on');
    await element.updateComplete;
    button.click();
    equal(runtime.state, 'stopping');
    await element.updateComplete;
    equal(button.getAttribute('aria-disabled'), 'true');
    runtime.set('off');
    await element.updateComplete;
    await shadow(element).querySelector('bu-switch')?.updateComplete;
    equal(button.getAttribute('aria-disabled'), 'true', 'off but not ready:');
    button.click();
    equal(runtime.state, 'off', 'a click while waiting for ready does nothing:');
    runtime.fire('ready', {});
    await element.updateComplete;
    equal(button.getAttribute('aria-disabled'), 'false');
  });

  it('counts consumers, not data channels', async () => {
    const mock = quietMock();
    BrowsersUnbounded.volunteerFactory = () => mock;
    const element = await mount();
    element.start();
    await until(() => element.state === 'on', 'on');
    mock.connect('alice', 'IR');
    mock.connect('alice', 'IR');
    mock.connect('alice', 'IR');
    mock.connect('bob', 'CN');
    equal(element.stats.now, 2);
    equal(element.stats.total, 2);
    mock.disconnect('alice');
    equal(element.stats.now, 1);
    mock.connect('alice', 'IR');
    equal(element.stats.now, 2);
    equal(element.stats.total, 2, 'a returning consumer counts once:');
    equal(element.stats.lifetimeConnections, 2);
    await element.updateComplete;
    const stats = shadow(element).querySelector('bu-stats');
    ok(stats);
    equal(stats.now, 2);
  });

  it('keeps lifetime bytes and connections in IndexedDB across re-creation', async () => {
    const mock = quietMock();
    BrowsersUnbounded.volunteerFactory = () => mock;
    const first = await mount();
    await first.flushStats();
    first.start();
    await until(() => first.state === 'on', 'on');
    mock.connect('carol', 'RU');
    mock.relay(12_345);
    mock.relay(655);
    await first.flushStats();
    first.remove();

    BrowsersUnbounded.volunteerFactory = quietMock;
    const second = await mount();
    await second.flushStats();
    equal(second.stats.lifetimeBytes, 13_000);
    equal(second.stats.lifetimeConnections, 1);
    equal(second.stats.total, 0, 'the session figures start again:');
  });

  it('shows the censored-country guard instead of sharing', async () => {
    BrowsersUnbounded.volunteerFactory = () =>
      new MockVolunteer({ auto: false, startDelayMs: 1, censored: true, country: 'IR' });
    const element = await mount();
    element.start();
    await until(() => !element.available, 'the location event');
    await element.updateComplete;
    equal(element.state, 'off');
    equal((await switchButton(element)).getAttribute('aria-disabled'), 'true');
    ok(shadow(element).querySelector('.status')?.textContent?.includes('Iran'));
  });

  it('stops a hidden tab after the delay when background sharing is off', async () => {
    BrowsersUnbounded.volunteerFactory = quietMock;
    BrowsersUnbounded.backgroundStopMs = 30;
    const element = await mount({ 'data-desktop-bg': 'false', 'data-mobile-bg': 'false' });
    element.start();
    await until(() => element.state === 'on', 'on');
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    try {
      document.dispatchEvent(new Event('visibilitychange'));
      await until(() => element.state === 'off', 'the background stop');
    } finally {
      Reflect.deleteProperty(document, 'visibilityState');
      BrowsersUnbounded.backgroundStopMs = 60_000;
    }
  });
});

describe('<browsers-unbounded> exit intent', () => {
  const leaveThroughTop = () =>
    document.dispatchEvent(
      new MouseEvent('mouseout', { clientY: -1, relatedTarget: null, bubbles: true }),
    );

  it('shows the keep-tab-open toast when the pointer leaves through the top', async () => {
    BrowsersUnbounded.volunteerFactory = quietMock;
    const element = await mount();
    const toast = shadow(element).querySelector('bu-toast');
    ok(toast);
    leaveThroughTop();
    equal(toast.open, false, 'no toast while not sharing:');
    element.start();
    await until(() => element.state === 'on', 'on');
    leaveThroughTop();
    equal(toast.open, true);
    ok(toast.message.includes('Keep this tab open'));
    toast.close();
    leaveThroughTop();
    equal(toast.open, false, 'once per sharing session:');
  });

  it('shows no toast with data-exit="false"', async () => {
    BrowsersUnbounded.volunteerFactory = quietMock;
    const element = await mount({ 'data-exit': 'false' });
    element.start();
    await until(() => element.state === 'on', 'on');
    leaveThroughTop();
    equal(shadow(element).querySelector('bu-toast')?.open, false);
  });
});

describe('<browsers-unbounded> globe', () => {
  let loads = 0;
  const original = BuGlobe.loadScene;
  const stub: GlobeSceneModule = {
    createGlobeScene: () => ({
      update() {},
      setTheme() {},
      setReducedMotion() {},
      resize() {},
      dispose() {},
    }),
  };
  beforeEach(() => {
    loads = 0;
    BuGlobe.loadScene = () => {
      loads++;
      return Promise.resolve(stub);
    };
  });
  afterEach(() => {
    BuGlobe.loadScene = original;
  });

  const settle = async () => {
    for (let i = 0; i < 5; i++) await frame();
    await sleep(50);
  };
  const globeRequests = () =>
    performance
      .getEntriesByType('resource')
      .filter((entry) => /globe-scene|globe\.gl|three/.test(entry.name)).length;

  it('is not imported with data-globe="false"', async () => {
    await mount({ 'data-mock': 'true', 'data-layout': 'panel', 'data-globe': 'false' });
    await settle();
    equal(loads, 0);
    equal(globeRequests(), 0);
  });

  it('is not imported while the widget is off screen, and is once it is visible', async () => {
    const box = document.createElement('div');
    box.style.marginTop = '300vh';
    document.body.append(box);
    created.push(box);
    const element = await mount({ 'data-mock': 'true', 'data-layout': 'panel' }, box);
    await settle();
    equal(loads, 0, 'off screen:');
    const globe = shadow(element).querySelector('bu-globe');
    ok(globe);
    globe.scrollIntoView();
    await until(() => globe.status === 'ready', 'the globe');
    equal(loads, 1);
  });

  it('is not imported while the banner is collapsed', async () => {
    const element = await mount({ 'data-mock': 'true' });
    await settle();
    equal(loads, 0);
    const expand = shadow(element).querySelector<HTMLButtonElement>('.collapse');
    ok(expand);
    equal(expand.getAttribute('aria-expanded'), 'false');
    expand.click();
    await element.updateComplete;
    equal(expand.getAttribute('aria-expanded'), 'true');
    await until(() => loads === 1, 'the globe to load');
  });
});

describe('<browsers-unbounded> targets', () => {
  it('extension-offscreen shares without UI; extension-popup has no globe', async () => {
    BrowsersUnbounded.volunteerFactory = quietMock;
    const offscreen = await mount({ 'data-target': 'extension-offscreen' });
    equal(shadow(offscreen).querySelector('.widget'), null);
    offscreen.start();
    await until(() => offscreen.state === 'on', 'on');
    const popup = await mount({ 'data-target': 'extension-popup' });
    ok(shadow(popup).querySelector('bu-switch'));
    ok(shadow(popup).querySelector('bu-stats'));
    equal(shadow(popup).querySelector('bu-globe'), null);
  });
});
