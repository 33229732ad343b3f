/**
 * The fixed pieces of `<browsers-unbounded>`'s template (the brand, the about and embed
 * sheets) and its status sentence, apart from the element so that it reads as its layout.
 */
import { html, type TemplateResult } from 'lit';
import { countryName } from './format.ts';
import type { VolunteerController } from './volunteer-controller.ts';

export const brand = (): TemplateResult =>
  html`<span class="brand" part="branding">
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

/** The expand and collapse button's arrow. */
export const chevron = html`<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
  <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2" />
</svg>`;

const closeButton = (close: () => void): TemplateResult =>
  html`<button class="quiet close" type="button" aria-label="Close" @click=${close}>×</button>`;

export const aboutSheet = (close: () => void): TemplateResult =>
  html`<div class="sheet" part="sheet" role="dialog" aria-labelledby="sheet-title">
    <h3 id="sheet-title" tabindex="-1">About Browsers Unbounded</h3>
    ${closeButton(close)}
    <p>
      Browsers Unbounded lets anyone with an open internet connection help people in places where
      the internet is censored. When you switch it on, this tab relays their encrypted traffic to a
      server that reaches the open internet.
    </p>
    <p>
      You can't see what they browse, and they can't see your data. Sharing stops when you switch it
      off or close the tab.
    </p>
  </div>`;

export const embedSheet = (code: string, copy: () => void, close: () => void): TemplateResult =>
  html`<div class="sheet" part="sheet" role="dialog" aria-labelledby="sheet-title">
    <h3 id="sheet-title" tabindex="-1">Embed this widget</h3>
    ${closeButton(close)}
    <p>Paste this into your page's HTML:</p>
    <pre><code>${code}</code></pre>
    <button class="quiet primary" type="button" @click=${copy}>Copy code</button>
  </div>`;

/** The sentence under the switch; `now`: consumers connected now. */
export function statusText(
  { runtime, location, state, error }: VolunteerController,
  now: number,
  mock: boolean,
): string {
  if (runtime === null)
    return 'Sharing is not available in this build of the widget: it has no connection to the Browsers Unbounded network. Nothing is being shared.';
  if (location?.censored)
    return `You seem to be connecting from ${countryName(location.country)}, where the internet is censored, so sharing is turned off. Browsers Unbounded needs volunteers on open networks.`;
  const demo = mock ? ' (Demo: these people and this traffic are simulated.)' : '';
  switch (state) {
    case 'off':
      if (error !== null) return `Sharing stopped: ${error}`;
      return `Turn this on to let people facing internet censorship use your connection. They can't see your browsing and you can't see theirs.${demo}`;
    case 'starting':
      return `Connecting to the network…${demo}`;
    case 'on':
      if (now === 0) return `You're ready. Waiting for someone who needs a connection…${demo}`;
      return `You're helping ${now} ${now === 1 ? 'person' : 'people'} right now.${demo}`;
    case 'stopping':
      return 'Closing connections…';
  }
}
