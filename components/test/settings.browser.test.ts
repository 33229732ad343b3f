import { SETTINGS, SETTING_KEYS, defaultOf, parseSetting } from '../settings.ts';
import { describe, equal, it, ok } from './harness.ts';

const base = 'https://example.org/page/';

describe('settings', () => {
  it('has the defaults of the issue table', () => {
    const defaults = Object.fromEntries(SETTING_KEYS.map((key) => [key, defaultOf(key, base)]));
    equal(
      JSON.stringify(defaults),
      JSON.stringify({
        layout: 'banner',
        theme: 'light',
        globe: true,
        exit: true,
        toast: false,
        keepText: true,
        mobileBg: true,
        desktopBg: true,
        menu: false,
        collapse: true,
        branding: true,
        title: false,
        share: false,
        infoLink: '',
        editor: false,
        mock: false,
        target: 'web',
        signaling: 'https://example.org/signal/',
      }),
    );
  });

  it('maps every setting to its data-* attribute', () => {
    equal(SETTINGS.keepText.attribute, 'data-keep-text');
    equal(SETTINGS.mobileBg.attribute, 'data-mobile-bg');
    equal(SETTINGS.desktopBg.attribute, 'data-desktop-bg');
    equal(SETTINGS.infoLink.attribute, 'data-info-link');
  });

  it('parses booleans, choices and URLs', () => {
    equal(parseSetting('globe', 'false', base).value, false);
    equal(parseSetting('toast', 'true', base).value, true);
    equal(parseSetting('layout', 'floating', base).value, 'floating');
    equal(parseSetting('signaling', '/x/signal/', base).value, 'https://example.org/x/signal/');
    equal(parseSetting('infoLink', 'https://a.example/b', base).value, 'https://a.example/b');
  });

  it('falls back to the default with a warning naming the attribute', () => {
    const globe = parseSetting('globe', 'yes', base);
    equal(globe.value, true);
    ok(globe.warning?.includes('data-globe'), globe.warning);
    const layout = parseSetting('layout', 'sideways', base);
    equal(layout.value, 'banner');
    ok(layout.warning?.includes('data-layout'));
    // A javascript: URL is not a link the widget will render.
    const link = parseSetting('infoLink', 'javascript:alert(1)', base);
    equal(link.value, '');
    ok(link.warning?.includes('data-info-link'));
    equal(parseSetting('globe', null, base).warning, undefined);
  });
});
