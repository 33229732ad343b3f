/**
 * Three real third-party static sites, served from node_modules through origin witnesses (each
 * on its own origin), for tests that browse something realistic: a documentation site with
 * pages and links (MathJax 2's example pages), a single-page app that fetches JSON and routes
 * by URL fragment (Swagger UI describing a small local API), and a page heavy on web fonts
 * (the Material Design Icons specimen). All three render with no request to any other host.
 *
 * Each site says how to tell that it rendered (`rendered`) and one navigation to make with what
 * proves it worked. `expectProof` and `navigate` run them in a Playwright page or frame, so the
 * same descriptions work for a site loaded directly and for one inside /browse/'s frame.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Frame, Page } from 'playwright-core';
import {
  startWitnessOrigins,
  type SiteContent,
  type WitnessOptions,
  type WitnessOrigin,
  type WitnessOrigins,
} from './origin-witness.ts';

export const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/** What must be on the page: an element, its text, how many, a loaded web font, the URL. */
export interface Proof {
  readonly selector: string;
  /** Text of a matching element: the whole (trimmed) text for a string, a search for a RegExp. */
  readonly text?: string | RegExp;
  /** At least this many elements match `selector` (and `text`); default 1. */
  readonly atLeast?: number;
  /** A web font family that must be loaded (`document.fonts`, status `loaded`). */
  readonly font?: string;
  /** The page's or frame's URL must match. */
  readonly url?: RegExp;
}

export type Step = { readonly click: string } | { readonly press: string };

export interface Navigation {
  readonly description: string;
  readonly steps: readonly Step[];
  readonly expect: Proof;
}

export interface StaticSite {
  /** The origin's name in the witness. */
  readonly name: string;
  readonly kind: 'documentation' | 'single-page app' | 'media';
  readonly package: { readonly name: string; readonly version: string; readonly license: string };
  /** Why this site is here: what it makes a browser (or a proxy) do. */
  readonly exercises: string;
  readonly content: SiteContent;
  /** Path of the first page on the site's origin. */
  readonly entry: string;
  readonly rendered: Proof;
  readonly navigation: Navigation;
}

function packageDir(name: string, version: string): string {
  const dir = join(NODE_MODULES, name);
  const manifest: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const found =
    typeof manifest === 'object' && manifest !== null && 'version' in manifest
      ? manifest.version
      : undefined;
  if (found !== version) {
    throw new Error(`${name}: expected version ${version} in ${dir}, found ${String(found)}`);
  }
  return dir;
}

// ---- Swagger UI: the API it describes, served next to it -------------------------------------

const BOOKS = [
  { id: 1, title: 'The Dispossessed', author: 'Ursula K. Le Guin', year: 1974 },
  { id: 2, title: 'A Wizard of Earthsea', author: 'Ursula K. Le Guin', year: 1968 },
  { id: 3, title: 'The Left Hand of Darkness', author: 'Ursula K. Le Guin', year: 1969 },
];

/** A small OpenAPI document of our own; `servers` is relative, so calls stay on this origin. */
const OPENAPI = {
  openapi: '3.0.3',
  info: {
    title: 'Lending Library',
    version: '1.0.0',
    description:
      'A small API served by the origin witness, so that Swagger UI describes something local.',
  },
  servers: [{ url: 'api' }],
  tags: [
    { name: 'books', description: 'What the library holds' },
    { name: 'loans', description: 'Who has what' },
  ],
  paths: {
    '/books': {
      get: {
        tags: ['books'],
        operationId: 'listBooks',
        summary: 'List the books',
        responses: {
          '200': {
            description: 'Every book',
            content: {
              'application/json': {
                schema: { type: 'array', items: { $ref: '#/components/schemas/Book' } },
              },
            },
          },
        },
      },
    },
    '/books/{id}': {
      get: {
        tags: ['books'],
        operationId: 'getBook',
        summary: 'One book',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        responses: {
          '200': {
            description: 'The book',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Book' } } },
          },
          '404': { description: 'No such book' },
        },
      },
    },
    '/loans': {
      post: {
        tags: ['loans'],
        operationId: 'createLoan',
        summary: 'Lend a book',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Loan' } } },
        },
        responses: {
          '201': {
            description: 'Lent',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Loan' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Book: {
        type: 'object',
        required: ['id', 'title'],
        properties: {
          id: { type: 'integer' },
          title: { type: 'string' },
          author: { type: 'string' },
          year: { type: 'integer' },
        },
      },
      Loan: {
        type: 'object',
        required: ['book', 'reader'],
        properties: { book: { type: 'integer' }, reader: { type: 'string' } },
      },
    },
  },
};

/**
 * Swagger UI's own configuration file, which a deployment replaces (swagger-ui-dist documents
 * this file as the place to configure it): our document, fragment routing on, and no online
 * validator badge (an image from another host).
 */
const SWAGGER_INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

const json = (value: unknown, status = 200) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

function bookRoutes(): Record<string, ReturnType<typeof json>> {
  const routes: Record<string, ReturnType<typeof json>> = { '/api/books': json(BOOKS) };
  for (const book of BOOKS) routes[`/api/books/${book.id}`] = json(book);
  return routes;
}

// ---- The sites ------------------------------------------------------------------------------------

function mathjax(): StaticSite {
  const pkg = { name: 'mathjax', version: '2.7.9', license: 'Apache-2.0' };
  return {
    name: 'mathjax',
    kind: 'documentation',
    package: pkg,
    exercises:
      'pages linked from an index; scripts the page loads by inserting <script> elements with URLs it computes from its own script URL (config, input and output jax, extensions, with ?V= queries); seven web fonts declared in @font-face rules it writes at run time',
    content: { root: packageDir(pkg.name, pkg.version) },
    entry: '/test/examples.html',
    rendered: { selector: 'li > a[href$=".html"]', atLeast: 15 },
    navigation: {
      description: 'follow the index link to the page of sample equations',
      // By its text, as a reader picks it: through /browse/ the rewriter writes the link's
      // href="sample.html" as the path "/test/sample.html" (the same address on the site origin).
      steps: [{ click: 'li > a:text-is("Page included several examples TeX equations")' }],
      expect: {
        url: /\/test\/sample\.html$/,
        // Typeset and shown: MathJax marks displays MathJax_Processing, then MathJax_Processed,
        // and drops both once the math replaces the TeX preview (in its own web font).
        selector:
          'div.MathJax_Display:not(.MathJax_Processing):not(.MathJax_Processed) > span.MathJax',
        atLeast: 7,
        font: 'MathJax_Main',
      },
    },
  };
}

function swaggerUi(): StaticSite {
  const pkg = { name: 'swagger-ui-dist', version: '5.17.14', license: 'Apache-2.0' };
  return {
    name: 'swagger-ui',
    kind: 'single-page app',
    package: pkg,
    exercises:
      'a 1.4 MB script bundle that renders everything; the OpenAPI document fetched as JSON; routes in the URL fragment (#/tag/operation); "Try it out" calls the API with fetch and shows the JSON it got',
    content: {
      root: packageDir(pkg.name, pkg.version),
      routes: {
        '/swagger-initializer.js': {
          headers: { 'content-type': 'text/javascript; charset=utf-8' },
          body: SWAGGER_INITIALIZER,
        },
        '/openapi.json': json(OPENAPI),
        ...bookRoutes(),
        '/api/loans': (request) => {
          if (request.method !== 'POST') return json({ error: 'POST only' }, 405);
          try {
            const loan: unknown = JSON.parse(request.body.toString('utf8'));
            return json(loan, 201);
          } catch {
            return json({ error: 'not JSON' }, 400);
          }
        },
      },
    },
    entry: '/index.html',
    rendered: { selector: '.info .title', text: /Lending Library/ },
    navigation: {
      description:
        'open the "List the books" operation (the URL fragment becomes its route), then Try it out and Execute: the API answers through fetch',
      steps: [
        { click: '#operations-books-listBooks .opblock-summary-control' },
        { click: '#operations-books-listBooks .try-out__btn' },
        { click: '#operations-books-listBooks .execute' },
      ],
      expect: {
        url: /#\/books\/listBooks$/,
        selector: '#operations-books-listBooks .live-responses-table .response-col_description',
        text: /The Left Hand of Darkness/,
      },
    },
  };
}

function materialDesignIcons(): StaticSite {
  const pkg = { name: '@mdi/font', version: '7.4.47', license: 'Apache-2.0' };
  return {
    name: 'mdi-font',
    kind: 'media',
    package: pkg,
    exercises:
      'a 420 KB page whose script draws 7,000+ icons from a 400 KB web font (woff2, with woff, ttf and eot fallbacks, each URL with a ?v= query) declared in a 340 KB stylesheet',
    content: { root: packageDir(pkg.name, pkg.version) },
    entry: '/preview.html',
    rendered: {
      selector: '#icons > div > i.mdi',
      atLeast: 7000,
      font: 'Material Design Icons',
    },
    navigation: {
      // The specimen has no links of its own: its navigation is picking an icon.
      description: 'pick the "rocket-launch" icon by its name: the usage snippet shows it',
      steps: [{ click: '#icons > div > span:text-is("mdi-rocket-launch")' }],
      expect: { selector: '#name', text: 'rocket-launch' },
    },
  };
}

/** The sites, read from node_modules (throws if a package is not the pinned version). */
export function staticSites(): StaticSite[] {
  return [mathjax(), swaggerUi(), materialDesignIcons()];
}

/** Each site's content by origin name, for `startWitnessOrigins({ sites })`. */
export function staticSiteContents(sites = staticSites()): Record<string, SiteContent> {
  return Object.fromEntries(sites.map((site) => [site.name, site.content]));
}

export interface ServedSite extends StaticSite {
  readonly origin: WitnessOrigin;
  /** The entry page's absolute URL (HTTP). */
  readonly url: string;
}

/** Starts one witness with every site on its own origin (`main` stays the default page). */
export async function startStaticSites(
  options: Omit<WitnessOptions, 'sites'> = {},
): Promise<{ witness: WitnessOrigins; sites: ServedSite[] }> {
  const sites = staticSites();
  const witness = await startWitnessOrigins({ ...options, sites: staticSiteContents(sites) });
  return {
    witness,
    sites: sites.map((site) => {
      const origin = witness.origins[site.name]!;
      return { ...site, origin, url: `${origin.http}${site.entry}` };
    }),
  };
}

export type ProofTarget = Page | Frame;

interface Observed {
  readonly url: string;
  readonly texts: string[];
  readonly fontLoaded: boolean | undefined;
}

async function observe(target: ProofTarget, proof: Proof): Promise<Observed> {
  const texts = await target
    .locator(proof.selector)
    .evaluateAll((elements) => elements.map((element) => element.textContent ?? ''));
  const fontLoaded =
    proof.font === undefined
      ? undefined
      : await target.evaluate(
          (family) =>
            [...document.fonts].some(
              (face) =>
                face.family.replace(/^["']|["']$/g, '') === family && face.status === 'loaded',
            ),
          proof.font,
        );
  return { url: target.url(), texts, fontLoaded };
}

function unmet(proof: Proof, seen: Observed): string | undefined {
  if (proof.url !== undefined && !proof.url.test(seen.url)) {
    return `URL ${seen.url} does not match ${String(proof.url)}`;
  }
  const wanted = proof.text;
  const matching = seen.texts.filter((text) =>
    wanted === undefined
      ? true
      : typeof wanted === 'string'
        ? text.trim() === wanted
        : wanted.test(text),
  );
  const atLeast = proof.atLeast ?? 1;
  if (matching.length < atLeast) {
    return `${matching.length} of ${atLeast} "${proof.selector}"${
      wanted === undefined ? '' : ` with text ${String(wanted)}`
    } (${seen.texts.length} match the selector${
      seen.texts[0] === undefined
        ? ''
        : `, the first says ${JSON.stringify(seen.texts[0].slice(0, 120))}`
    })`;
  }
  if (seen.fontLoaded === false) return `web font "${proof.font}" is not loaded`;
  return undefined;
}

/** Waits until `proof` holds in `target`; throws with what was missing instead. */
export async function expectProof(
  target: ProofTarget,
  proof: Proof,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = 'not checked';
  for (;;) {
    try {
      problem = unmet(proof, await observe(target, proof)) ?? '';
    } catch (error) {
      problem = `could not look: ${String(error)}`; // navigating: the context went away
    }
    if (problem === '') return;
    if (Date.now() > deadline) throw new Error(`not rendered after ${timeoutMs} ms: ${problem}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Performs the navigation's steps, then waits for what proves it worked. */
export async function navigate(
  target: ProofTarget,
  navigation: Navigation,
  timeoutMs = 30_000,
): Promise<void> {
  for (const step of navigation.steps) {
    if ('click' in step) await target.locator(step.click).first().click({ timeout: timeoutMs });
    else await target.locator('body').press(step.press, { timeout: timeoutMs });
  }
  await expectProof(target, navigation.expect, timeoutMs);
}
