/** What the front page exposes to the test as `window.webProxy`. */

/** What the proxied document in the iframe shows, read from the front page (same origin). */
export interface ProxiedView {
  /** The iframe document's URL: the front-end's origin, `/service/` and the encoded URL. */
  readonly href: string;
  readonly title: string;
  readonly greeting: string | null;
  /** `#greeting`'s computed colour: the stylesheet arrived and applied. */
  readonly greetingColor: string | null;
  /** `#scripted`'s text: the script arrived and ran. */
  readonly scripted: string | null;
  /** The image's natural size once loaded: it arrived and decoded. */
  readonly imageSize: readonly [number, number] | null;
}

export interface WebProxyPage {
  /** Browses `url` through the proxy in the iframe; returns the proxied URL. */
  open(url: string): string;
  /** null until the iframe's document has loaded. */
  view(): ProxiedView | null;
  /** Follows the page's `#next` link inside the proxied document. */
  clickLink(): void;
}
