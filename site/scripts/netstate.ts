/**
 * The /netstate/ page: reads the signaling server's `v1/netstate` every few seconds (the server
 * the site's config.json names, else the path the page names on this origin, as the hub and
 * the widget find it), and shows the totals, the graph and the same numbers as tables. While
 * the server cannot be reached the page says so and keeps the last numbers, marked with their
 * time.
 */
import {
  DEFAULT_SIGNALING_PATH,
  loadSiteConfig,
  SITE_CONFIG_FILE,
} from '../../components/site-config.ts';
import { graphModel, graphView } from './netstate-graph.ts';
import {
  countryName,
  NetstateError,
  parseNetstate,
  type Netstate,
  type NetstateErrorCode,
} from './netstate-data.ts';

const POLL_MS = 5000;
const TIMEOUT_MS = 4000;

const root = document.querySelector<HTMLElement>('[data-netstate]');
if (root) {
  // The page names the default; the site's config.json may name another server.
  const fallback = {
    signaling: new URL(root.dataset['signaling'] ?? DEFAULT_SIGNALING_PATH, location.origin).href,
  };
  void loadSiteConfig(new URL(SITE_CONFIG_FILE, location.origin).href, fallback).then((config) =>
    start(root, config.signaling),
  );
}

function start(root: HTMLElement, signaling: string): void {
  const endpoint = new URL('v1/netstate', signaling);
  const $ = (id: string): HTMLElement | null => document.getElementById(id);
  const status = $('ns-status');
  const problem = $('ns-error');
  const graphRoot = root.querySelector<HTMLElement>('.graph');
  const graph = graphRoot ? graphView(graphRoot) : undefined;
  let last: Netstate | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false;

  const time = (date: Date): HTMLTimeElement => {
    const element = document.createElement('time');
    element.dateTime = date.toISOString();
    element.textContent = date.toLocaleTimeString();
    return element;
  };

  const show = (state: Netstate): void => {
    last = state;
    root.dataset['state'] = 'ok';
    setText('ns-volunteers', state.volunteers.total);
    setText('ns-available', `${state.volunteers.available} ready for someone now`);
    setText('ns-consumers', state.consumers.total);
    setText('ns-pairs', state.pairs.total);
    status?.replaceChildren('Updated at ', time(state.generatedAt), '; refreshes every 5 seconds.');
    if (problem) problem.hidden = true;
    graph?.update(graphModel(state));
    fillTables(state);
  };

  const fail = (code: NetstateErrorCode, message: string): void => {
    root.dataset['state'] = 'error';
    root.dataset['error'] = code;
    if (problem) {
      problem.hidden = false;
      problem.textContent =
        code === 'ERR_NETSTATE_INVALID'
          ? `The server sent something this page cannot read (${message}). Trying again every 5 seconds.`
          : `Cannot reach the signaling server (${message}). Trying again every 5 seconds.`;
    }
    if (last) status?.replaceChildren('Showing the numbers from ', time(last.generatedAt), '.');
    else status?.replaceChildren('No numbers yet.');
  };

  const refresh = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      show(await load(endpoint));
    } catch (err) {
      if (err instanceof NetstateError) fail(err.code, err.message);
      else fail('ERR_NETSTATE_INVALID', err instanceof Error ? err.message : String(err));
    } finally {
      busy = false;
      // Nobody is looking at a hidden tab: poll again when it is shown.
      if (document.visibilityState === 'visible') timer = setTimeout(() => void refresh(), POLL_MS);
    }
  };

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
    else clearTimeout(timer);
  });
  void refresh();
}

async function load(endpoint: URL): Promise<Netstate> {
  let response: Response;
  try {
    response = await fetch(endpoint, {
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const reason =
      err instanceof DOMException && err.name === 'TimeoutError'
        ? 'no answer in 4 seconds'
        : navigator.onLine
          ? 'the request failed'
          : 'you are offline';
    throw new NetstateError('ERR_NETSTATE_UNREACHABLE', reason);
  }
  if (response.status !== 200) {
    throw new NetstateError('ERR_NETSTATE_STATUS', `HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new NetstateError('ERR_NETSTATE_INVALID', 'the answer is not JSON');
  }
  return parseNetstate(body);
}

function setText(id: string, value: string | number): void {
  const element = document.getElementById(id);
  if (element) element.textContent = String(value);
}

function fillTables(state: Netstate): void {
  const countries = new Map<string, { volunteers: number; consumers: number }>();
  for (const { country, count } of state.volunteers.byCountry) {
    countries.set(country, { volunteers: count, consumers: 0 });
  }
  for (const { country, count } of state.consumers.byCountry) {
    const entry = countries.get(country) ?? { volunteers: 0, consumers: 0 };
    countries.set(country, { ...entry, consumers: count });
  }
  rows(
    'ns-countries',
    [...countries]
      .sort(
        ([a, x], [b, y]) =>
          y.volunteers + y.consumers - (x.volunteers + x.consumers) || (a < b ? -1 : 1),
      )
      .map(([country, c]) => [countryName(country), c.volunteers, c.consumers]),
    3,
  );
  rows(
    'ns-links',
    state.pairs.byCountryPair.map((p) => [
      countryName(p.volunteer),
      countryName(p.consumer),
      p.count,
    ]),
    3,
  );
  const { byNat, byKind } = state.volunteers;
  rows(
    'ns-kinds',
    [
      ['Open NAT (unrestricted)', byNat.unrestricted],
      ['Restricted NAT', byNat.restricted],
      ['NAT not known', byNat.unknown],
      ['Browser tabs', byKind.browser],
      ['bu volunteer (command line)', byKind.node],
    ],
    2,
  );
}

/** Replaces a table body's rows; the first cell of each row is its header. */
function rows(id: string, data: readonly (readonly (string | number)[])[], columns: number): void {
  const body = document.getElementById(id);
  if (!body) return;
  if (data.length === 0) {
    const row = document.createElement('tr');
    const cell = document.createElement('td');
    cell.colSpan = columns;
    cell.className = 'none';
    cell.textContent = 'None right now.';
    row.append(cell);
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(
    ...data.map((values) => {
      const row = document.createElement('tr');
      values.forEach((value, index) => {
        const cell = document.createElement(index === 0 ? 'th' : 'td');
        if (index === 0) cell.setAttribute('scope', 'row');
        if (typeof value === 'number') cell.className = 'num';
        cell.textContent = String(value);
        row.append(cell);
      });
      return row;
    }),
  );
}
