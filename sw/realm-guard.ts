/**
 * The runtime's guard for one realm (a window of the site origin: the page's own, and every
 * same-origin frame a script makes, which brings a fresh set of globals). Browsers let no page
 * forbid WebRTC (Chromium has no CSP directive for it), apply no policy to
 * `<link rel=preconnect>`, and open a connection for a navigation that the policy then blocks;
 * each of those would reach the network around the proxy. So in every realm it can reach, the
 * guard:
 *
 * - takes WebRTC away;
 * - rewrites what goes into the document before it is there: URL attributes, srcset, meta
 *   refresh, resource hints (preconnect and dns-prefetch are dropped), and srcdoc documents,
 *   which get the runtime first so that their own realm is guarded before their scripts run;
 * - parses HTML strings (innerHTML and its kin) into an inert template first, so the same
 *   rewriting happens before insertion;
 * - catches navigations (the Navigation API) and gives them an address on the site origin;
 * - guards each new frame's realm the same way, as soon as a script could reach it.
 *
 * It is best effort against a page that works at escaping it; docs/architecture.md says what
 * remains open. One concern kept in one file (about 600 lines): every wrapper must be installed
 * on every realm in the same pass, and split apart they would be easier to miss. Built-ins it relies on are captured at start, so a page that replaces
 * `window.URL` cannot switch it off.
 */

export interface GuardOptions {
  /** A URL as the page wrote it → its address on the site origin (proxy-url.ts). */
  readonly proxied: (url: string) => string;
  /** The `<script>` that loads the runtime, as HTML, for srcdoc documents. */
  readonly runtimeTag: string;
  /** The site origin. */
  readonly site: string;
}

type Realm = Window & typeof globalThis;

const URL_ = URL;
const defineProperty = Object.defineProperty;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const WEBRTC = ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel'] as const;
const URL_ATTRIBUTES = new Set([
  'href',
  'src',
  'action',
  'formaction',
  'poster',
  'data',
  'background',
  'cite',
  'ping',
  'xlink:href',
]);
const DROPPED_HINTS = /(?:^|\s)(?:preconnect|dns-prefetch|prerender)(?:\s|$)/i;

/** A getter of the page's own window, or of its prototype chain, taken before a page runs. */
function nativeGetter(name: string): ((this: unknown) => unknown) | undefined {
  for (
    let owner: object | null = window;
    owner !== null;
    owner = Object.getPrototypeOf(owner) as object | null
  ) {
    const descriptor = getOwnPropertyDescriptor(owner, name);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(realm)
    if (descriptor) return descriptor.get;
  }
  return undefined;
}
const frameElementOf = nativeGetter('frameElement');
const navigationOf = nativeGetter('navigation');
const NavigationType = (globalThis as { Navigation?: { prototype: object } }).Navigation;
const currentEntryOf =
  NavigationType &&
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(navigation)
  getOwnPropertyDescriptor(NavigationType.prototype, 'currentEntry')?.get;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(node)
const { insertBefore, removeChild } = Node.prototype;
/* eslint-disable @typescript-eslint/unbound-method -- each called with .call(node) */
const nodeTypeOf = getOwnPropertyDescriptor(Node.prototype, 'nodeType')?.get;
const ownerElementOf = getOwnPropertyDescriptor(Attr.prototype, 'ownerElement')?.get;
const nameOf = getOwnPropertyDescriptor(Attr.prototype, 'name')?.get;
const attrValueOf = getOwnPropertyDescriptor(Attr.prototype, 'value')?.get;
const attrValueSet = getOwnPropertyDescriptor(Attr.prototype, 'value')?.set;
/* eslint-enable @typescript-eslint/unbound-method */

function blocked(name: string): () => never {
  return function () {
    throw new DOMException(
      `${name} is disabled in Browse: it would bypass the proxy`,
      'NotSupportedError',
    );
  };
}

export function createRealmGuard(options: GuardOptions): (realm: Window) => void {
  const guarded = new WeakSet<Window>();

  /** A window whose globals this script may touch (the page's origin, or its own opaque one). */
  function reachable(realm: Window): realm is Realm {
    try {
      return realm.document !== null && typeof (realm as Partial<Realm>).Node === 'function';
    } catch {
      return false;
    }
  }

  /** After anything that may have made a frame: every realm under the page, from the top. */
  const everything = (): void => guardFrames(root);
  let root: Window = window;

  function guardRealm(realm: Window): void {
    if (guarded.has(realm) || !reachable(realm)) return;
    guarded.add(realm);
    disarm(realm);
    wrapInsertion(realm);
    wrapAttributes(realm);
    wrapAttributeNodes(realm);
    wrapBlobs(realm);
    catchNavigations(realm);
    holdBlank(realm);
    guardFrames(realm);
  }

  function disarm(realm: Realm): void {
    for (const name of WEBRTC) {
      try {
        defineProperty(realm, name, { value: blocked(name), configurable: false, writable: false });
      } catch {
        /* already taken away */
      }
    }
  }

  /** Guards every frame of `realm` (and theirs). */
  function guardFrames(realm: Window, depth = 0): void {
    if (depth > 8) return;
    for (let i = 0; i < realm.length; i++) {
      const child = realm[i];
      if (child === undefined) continue;
      guardRealm(child);
      try {
        guardFrames(child, depth + 1);
      } catch {
        /* another origin */
      }
    }
  }

  // ---- what goes into the document -------------------------------------------------------
  function rewriteAttribute(element: Element, name: string, value: string): string {
    const lower = name.toLowerCase();
    if (lower === 'srcdoc' && element.localName === 'iframe') {
      return value.startsWith(options.runtimeTag) ? value : options.runtimeTag + value;
    }
    if (lower === 'srcset' || lower === 'imagesrcset') {
      return value.replace(
        /(^|,\s*)(\S+)/g,
        (_, sep: string, url: string) => sep + options.proxied(url),
      );
    }
    return URL_ATTRIBUTES.has(lower) ? options.proxied(value) : value;
  }

  /** Rewrites an element (and what is under it) that is about to enter the document. */
  function clean(node: Node): void {
    const elements: Element[] = [];
    if (node.nodeType === 1) elements.push(node as Element);
    const root = node as ParentNode;
    if (typeof root.querySelectorAll === 'function') elements.push(...root.querySelectorAll('*'));
    for (const element of elements) {
      if (element.localName === 'template') clean((element as HTMLTemplateElement).content);
      if (element.localName === 'link' && DROPPED_HINTS.test(element.getAttribute('rel') ?? '')) {
        element.removeAttribute('href');
        element.setAttribute('rel', 'bu-dropped-hint');
      }
      if (
        element.localName === 'meta' &&
        element.getAttribute('http-equiv')?.toLowerCase() === 'refresh'
      ) {
        const content = element.getAttribute('content') ?? '';
        const match = /^(\s*\d*\.?\d*\s*[;,]?\s*(?:url\s*=\s*)?)(['"]?)(.*?)\2\s*$/i.exec(content);
        if (match?.[3]) element.setAttribute('content', `${match[1]}${options.proxied(match[3])}`);
      }
      for (const attribute of [...element.attributes]) {
        const next = rewriteAttribute(element, attribute.name, attribute.value);
        if (next !== attribute.value) attribute.value = next;
      }
    }
  }

  /** Node arguments cleaned before, frames guarded after. */
  function wrapMethod(prototype: object | undefined, name: string): void {
    if (prototype === undefined) return;
    const descriptor = getOwnPropertyDescriptor(prototype, name);
    const original = descriptor?.value as ((...args: unknown[]) => unknown) | undefined;
    if (descriptor === undefined || typeof original !== 'function') return;
    defineProperty(prototype, name, {
      ...descriptor,
      value: function (this: unknown, ...args: unknown[]) {
        for (const arg of args) if (isNode(arg)) clean(arg as Node);
        const result = original.apply(this, args);
        everything();
        return result;
      },
    });
  }

  function isNode(value: unknown): boolean {
    return (
      typeof value === 'object' && value !== null && 'nodeType' in value && 'ownerDocument' in value
    );
  }

  /** An HTML-string setter or method, parsed into a template and cleaned before it goes in. */
  function viaTemplate(
    realm: Realm,
    html: string,
    insert: (fragment: DocumentFragment) => void,
  ): void {
    const template = realm.document.createElement('template');
    templateSetter?.call(template, html);
    clean(template.content);
    insert(template.content);
    everything();
  }

  let templateSetter: ((this: Element, value: string) => void) | undefined;

  function wrapInsertion(realm: Realm): void {
    const { Node: N, Element: E, CharacterData: C, DocumentFragment: F, Document: D } = realm;
    for (const name of ['appendChild', 'insertBefore', 'replaceChild'])
      wrapMethod(N.prototype, name);
    for (const name of [
      'append',
      'prepend',
      'after',
      'before',
      'replaceWith',
      'replaceChildren',
      'insertAdjacentElement',
    ]) {
      wrapMethod(E.prototype, name);
    }
    for (const name of ['after', 'before', 'replaceWith']) wrapMethod(C.prototype, name);
    for (const name of ['append', 'prepend', 'replaceChildren']) wrapMethod(F.prototype, name);
    for (const name of ['append', 'prepend', 'replaceChildren']) wrapMethod(D.prototype, name);
    wrapMethod(realm.Range.prototype, 'insertNode');

    const inner = getOwnPropertyDescriptor(E.prototype, 'innerHTML');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const setInner = inner?.set;
    templateSetter ??= setInner;
    if (inner && setInner) {
      defineProperty(E.prototype, 'innerHTML', {
        ...inner,
        set(this: Element, value: unknown) {
          if (
            this.localName === 'template' ||
            this.localName === 'script' ||
            this.localName === 'style'
          ) {
            setInner.call(this, String(value));
            if (this.localName === 'template') clean((this as HTMLTemplateElement).content);
            return;
          }
          viaTemplate(realm, String(value), (fragment) => replaceChildren.call(this, fragment));
        },
      });
    }
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const replaceChildren = E.prototype.replaceChildren;
    const outer = getOwnPropertyDescriptor(E.prototype, 'outerHTML');
    if (outer?.set) {
      defineProperty(E.prototype, 'outerHTML', {
        ...outer,
        set(this: Element, value: unknown) {
          viaTemplate(realm, String(value), (fragment) => this.replaceWith(fragment));
        },
      });
    }
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const insertAdjacentHTML = E.prototype.insertAdjacentHTML;
    E.prototype.insertAdjacentHTML = function (
      this: Element,
      position: InsertPosition,
      html: string,
    ) {
      viaTemplate(realm, String(html), (fragment) => {
        const where = position.toLowerCase();
        if (where === 'beforebegin') this.before(fragment);
        else if (where === 'afterbegin') this.prepend(fragment);
        else if (where === 'beforeend') this.append(fragment);
        else if (where === 'afterend') this.after(fragment);
        else insertAdjacentHTML.call(this, position, '');
      });
    };
    for (const owner of [E.prototype, realm.ShadowRoot.prototype] as object[]) {
      if ('setHTMLUnsafe' in owner) {
        defineProperty(owner, 'setHTMLUnsafe', {
          configurable: true,
          writable: true,
          value: function (this: Element | ShadowRoot, html: string) {
            viaTemplate(realm, String(html), (fragment) => this.replaceChildren(fragment));
          },
        });
      }
    }
    const shadowInner = getOwnPropertyDescriptor(realm.ShadowRoot.prototype, 'innerHTML');
    if (shadowInner?.set) {
      defineProperty(realm.ShadowRoot.prototype, 'innerHTML', {
        ...shadowInner,
        set(this: ShadowRoot, value: unknown) {
          viaTemplate(realm, String(value), (fragment) => this.replaceChildren(fragment));
        },
      });
    }
    // What parses straight into the live document: guard what it made right after.
    for (const name of ['write', 'writeln', 'execCommand']) wrapMethod(D.prototype, name);
    // document.open (and a write that opens) erases the window's listeners: hold it again.
    for (const name of ['open', 'write', 'writeln']) {
      const descriptor = getOwnPropertyDescriptor(D.prototype, name);
      const original = descriptor?.value as ((...args: unknown[]) => unknown) | undefined;
      if (descriptor === undefined || typeof original !== 'function') continue;
      defineProperty(D.prototype, name, {
        ...descriptor,
        value: function (this: Document, ...args: unknown[]) {
          const result = original.apply(this, args);
          const view = this.defaultView;
          if (view !== null) holdBlank(view);
          return result;
        },
      });
    }

    // Frames the parser makes (a document still loading) and frames that navigated.
    new realm.MutationObserver(everything).observe(realm.document, {
      childList: true,
      subtree: true,
    });
    realm.addEventListener('load', everything, true);
    const contentWindow = getOwnPropertyDescriptor(
      realm.HTMLIFrameElement.prototype,
      'contentWindow',
    );
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const getWindow = contentWindow?.get;
    if (contentWindow && getWindow) {
      defineProperty(realm.HTMLIFrameElement.prototype, 'contentWindow', {
        ...contentWindow,
        get(this: HTMLIFrameElement) {
          const inner = getWindow.call(this) as Window | null;
          if (inner !== null) guardRealm(inner);
          return inner;
        },
      });
    }
  }

  function wrapAttributes(realm: Realm): void {
    const E = realm.Element;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const setAttribute = E.prototype.setAttribute;
    E.prototype.setAttribute = function (this: Element, name: string, value: string) {
      const rewritten = rewriteAttribute(this, String(name), String(value));
      starting(this, () => setAttribute.call(this, name, rewritten));
      everything();
    };
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const setAttributeNS = E.prototype.setAttributeNS;
    E.prototype.setAttributeNS = function (
      this: Element,
      namespace: string | null,
      name: string,
      value: string,
    ) {
      const rewritten = rewriteAttribute(this, String(name), String(value));
      starting(this, () => setAttributeNS.call(this, namespace, name, rewritten));
    };
    const properties: Array<[{ prototype: object } | undefined, string]> = [
      [realm.HTMLImageElement, 'src'],
      [realm.HTMLImageElement, 'srcset'],
      [realm.HTMLScriptElement, 'src'],
      [realm.HTMLIFrameElement, 'src'],
      [realm.HTMLIFrameElement, 'srcdoc'],
      [realm.HTMLSourceElement, 'src'],
      [realm.HTMLSourceElement, 'srcset'],
      [realm.HTMLMediaElement, 'src'],
      [realm.HTMLEmbedElement, 'src'],
      [realm.HTMLObjectElement, 'data'],
      [realm.HTMLLinkElement, 'href'],
      [realm.HTMLAnchorElement, 'href'],
      [realm.HTMLAnchorElement, 'ping'],
      [realm.HTMLAreaElement, 'href'],
      [realm.HTMLBaseElement, 'href'],
      [realm.HTMLFormElement, 'action'],
      [realm.HTMLButtonElement, 'formAction'],
      [realm.HTMLInputElement, 'formAction'],
      [realm.HTMLInputElement, 'src'],
      [realm.HTMLVideoElement, 'poster'],
    ];
    for (const [type, property] of properties) {
      if (type === undefined) continue;
      const descriptor = getOwnPropertyDescriptor(type.prototype, property);
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
      const set = descriptor?.set;
      if (!descriptor || !set) continue;
      defineProperty(type.prototype, property, {
        ...descriptor,
        set(this: Element, value: unknown) {
          const rewritten = rewriteAttribute(this, property.toLowerCase(), String(value));
          starting(this, () => set.call(this, rewritten));
          everything();
        },
      });
    }
    // rel=preconnect set from a script.
    const rel = getOwnPropertyDescriptor(realm.HTMLLinkElement.prototype, 'rel');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const setRel = rel?.set;
    if (rel && setRel) {
      defineProperty(realm.HTMLLinkElement.prototype, 'rel', {
        ...rel,
        set(this: HTMLLinkElement, value: unknown) {
          setRel.call(this, DROPPED_HINTS.test(String(value)) ? 'bu-dropped-hint' : String(value));
        },
      });
    }
  }

  /**
   * An HTML document a script makes as a Blob (to show in a frame) gets the runtime first, as
   * srcdoc documents do.
   */
  function wrapBlobs(realm: Realm): void {
    const NativeBlob = realm.Blob;
    const tag = options.runtimeTag;
    realm.Blob = class extends NativeBlob {
      constructor(parts?: BlobPart[], init?: BlobPropertyBag) {
        const html = /html/i.test(init?.type ?? '');
        super(html ? [tag, ...(parts ?? [])] : parts, init);
      }
    };
  }

  /** Navigations of this realm to another origin get their address on the site origin. */
  function catchNavigations(realm: Realm): void {
    const navigation = (realm as { navigation?: EventTarget }).navigation;
    navigation?.addEventListener('navigate', (event) => {
      const destination = (event as Event & { destination?: { url?: unknown } }).destination?.url;
      if (typeof destination !== 'string' || !event.cancelable) return;
      let url: URL;
      try {
        url = new URL_(destination);
      } catch {
        return;
      }
      if (url.origin === options.site || !/^https?:$/.test(url.protocol)) return;
      event.preventDefault();
      realm.location.assign(options.proxied(url.href));
    });
  }

  // ---- initial about:blank documents -----------------------------------------------------
  /**
   * A frame's first document (the initial about:blank) is invisible to the Navigation API,
   * and a Location cannot be wrapped, so `frame.contentWindow.location = url` would start a
   * navigation that the policy blocks only after Chromium has connected to `url`. What such a
   * document does see first is `beforeunload`, synchronously: unless the guard itself started
   * the navigation (a src or srcdoc it rewrote), the frame is taken out and put back, which
   * ends the navigation before it reaches the browser and leaves a fresh about:blank.
   */
  const expected = new WeakSet<Element>();
  /** Runs `set`, a write the guard has rewritten, letting a navigation it starts through. */
  function starting(element: Element | null | undefined, set: () => void): void {
    if (!element) return set();
    expected.add(element);
    try {
      set();
    } finally {
      expected.delete(element);
    }
  }
  const holds = new WeakMap<Window, () => void>();

  /** True while `realm` shows its frame's initial about:blank document. */
  function initialBlank(realm: Window): boolean {
    const navigation = navigationOf?.call(realm);
    return navigation !== undefined && currentEntryOf?.call(navigation) === null;
  }

  /**
   * Holds a frame's initial about:blank document. Only those: a `beforeunload` listener on a
   * page makes the browser ask that page before the hub can show another, and a page in a
   * busy loop would never answer.
   */
  function holdBlank(realm: Window): void {
    if (realm === root || !initialBlank(realm)) return;
    let hold = holds.get(realm);
    if (hold === undefined) {
      hold = () => {
        if (!initialBlank(realm)) return; // the Navigation API sees it
        const frame = frameElementOf?.call(realm) as Element | null | undefined;
        const parent = frame?.parentNode;
        if (!frame || !parent || expected.has(frame)) return;
        const next = frame.nextSibling;
        removeChild.call(parent, frame);
        insertBefore.call(parent, frame, next);
        everything();
      };
      holds.set(realm, hold);
    }
    realm.addEventListener('beforeunload', hold, true);
  }

  /** Attribute nodes written directly: the same rewriting as setAttribute. */
  function wrapAttributeNodes(realm: Realm): void {
    const A = realm.Attr.prototype;
    for (const [owner, property] of [
      [A, 'value'],
      [realm.Node.prototype, 'nodeValue'],
      [realm.Node.prototype, 'textContent'],
    ] as const) {
      const descriptor = getOwnPropertyDescriptor(owner, property);
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
      const set = descriptor?.set;
      if (!descriptor || !set) continue;
      defineProperty(owner, property, {
        ...descriptor,
        set(this: Node, value: unknown) {
          if (nodeTypeOf?.call(this) !== 2) return set.call(this, value);
          const element = ownerElementOf?.call(this) as Element | null | undefined;
          const name = String(nameOf?.call(this));
          const rewritten = element ? rewriteAttribute(element, name, String(value)) : value;
          starting(element, () => set.call(this, rewritten));
          everything();
        },
      });
    }
    // An attribute node made on its own and then attached: rewritten for its element first.
    const attach = (
      prototype: object,
      name: string,
      elementOf: (self: unknown) => Element | undefined,
    ): void => {
      const descriptor = getOwnPropertyDescriptor(prototype, name);
      const original = descriptor?.value as ((attr: Attr) => unknown) | undefined;
      if (descriptor === undefined || typeof original !== 'function') return;
      defineProperty(prototype, name, {
        ...descriptor,
        value: function (this: unknown, attr: Attr) {
          const element = elementOf(this);
          if (element && nodeTypeOf?.call(attr) === 2) {
            const value = String(attrValueOf?.call(attr));
            attrValueSet?.call(attr, rewriteAttribute(element, String(nameOf?.call(attr)), value));
          }
          let result: unknown;
          starting(element, () => (result = original.call(this, attr)));
          everything();
          return result;
        },
      });
    };
    for (const name of ['setAttributeNode', 'setAttributeNodeNS']) {
      attach(realm.Element.prototype, name, (self) => self as Element);
    }
    const attributes = getOwnPropertyDescriptor(realm.Element.prototype, 'attributes');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(this)
    const getAttributes = attributes?.get;
    if (attributes && getAttributes) {
      defineProperty(realm.Element.prototype, 'attributes', {
        ...attributes,
        get(this: Element) {
          const map = getAttributes.call(this) as NamedNodeMap;
          mapOwners.set(map, this);
          return map;
        },
      });
    }
    for (const name of ['setNamedItem', 'setNamedItemNS']) {
      attach(realm.NamedNodeMap.prototype, name, (self) => mapOwners.get(self as NamedNodeMap));
    }
  }
  const mapOwners = new WeakMap<NamedNodeMap, Element>();

  return (realm: Window): void => {
    root = realm;
    guardRealm(realm);
  };
}
