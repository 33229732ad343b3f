/**
 * The /netstate/ graph: volunteer countries in one column, the countries of people browsing in
 * the other, and a line between two countries for every matched pair, thicker with more pairs.
 * Nodes are HTML list items (so long names can be cut with an ellipsis and read by assistive
 * technology); only the lines are SVG, drawn between the rows' measured centres and redrawn
 * when the layout changes size.
 */
import { countryName, type Netstate } from './netstate-data.ts';

export type Side = 'volunteer' | 'consumer';

export interface GraphNode {
  /** A country code, or `other` for the countries folded together. */
  readonly key: string;
  /** Short enough for a narrow column. */
  readonly label: string;
  /** For the tooltip. */
  readonly fullName: string;
  readonly count: number;
}

export interface GraphLink {
  readonly from: string;
  readonly to: string;
  readonly count: number;
}

export interface GraphModel {
  readonly volunteers: readonly GraphNode[];
  readonly consumers: readonly GraphNode[];
  readonly links: readonly GraphLink[];
}

/** Rows per column; beyond this the smallest countries become one "other" node. */
const GRAPH_ROWS = 10;
const OTHER = 'other';
const SVG = 'http://www.w3.org/2000/svg';

/** Nodes and links to draw: the biggest countries of each side, the rest folded together. */
export function graphModel(state: Netstate, rows = GRAPH_ROWS): GraphModel {
  const volunteerCounts = new Map(state.volunteers.byCountry.map((c) => [c.country, c.count]));
  const consumerCounts = new Map(state.consumers.byCountry.map((c) => [c.country, c.count]));
  // A pair's country can be missing from a side's list for a moment (the two are read from
  // different tables); it still needs a node to end on.
  for (const pair of state.pairs.byCountryPair) {
    if (!volunteerCounts.has(pair.volunteer)) volunteerCounts.set(pair.volunteer, 0);
    if (!consumerCounts.has(pair.consumer)) consumerCounts.set(pair.consumer, 0);
  }
  const volunteers = fold(volunteerCounts, rows);
  const consumers = fold(consumerCounts, rows);
  const links = new Map<string, GraphLink>();
  for (const pair of state.pairs.byCountryPair) {
    const from = volunteers.keyOf(pair.volunteer);
    const to = consumers.keyOf(pair.consumer);
    const key = `${from}>${to}`;
    links.set(key, { from, to, count: (links.get(key)?.count ?? 0) + pair.count });
  }
  return {
    volunteers: volunteers.nodes,
    consumers: consumers.nodes,
    links: [...links.values()].sort((a, b) => a.count - b.count),
  };
}

function fold(
  counts: ReadonlyMap<string, number>,
  rows: number,
): { nodes: GraphNode[]; keyOf: (country: string) => string } {
  const sorted = [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
  if (sorted.length <= rows) {
    return {
      nodes: sorted.map((n) => named(n)),
      keyOf: (country) => country,
    };
  }
  const shown = sorted.slice(0, rows - 1);
  const rest = sorted.slice(rows - 1);
  const kept = new Set(shown.map((n) => n.key));
  return {
    nodes: [
      ...shown.map((n) => named(n)),
      {
        key: OTHER,
        label: `${rest.length} others`,
        fullName: `${rest.length} other countries`,
        count: rest.reduce((sum, n) => sum + n.count, 0),
      },
    ],
    keyOf: (country) => (kept.has(country) ? country : OTHER),
  };
}

function named(node: { key: string; count: number }): GraphNode {
  const name = countryName(node.key);
  return { ...node, label: name, fullName: name };
}

export interface GraphView {
  update(model: GraphModel): void;
}

/**
 * Builds the graph inside `root` (which holds `ol[data-side=volunteer]`,
 * `ol[data-side=consumer]` and an `svg`) and keeps its lines in place as the page resizes.
 */
export function graphView(root: HTMLElement): GraphView {
  const lists = {
    volunteer: root.querySelector<HTMLOListElement>('ol[data-side="volunteer"]'),
    consumer: root.querySelector<HTMLOListElement>('ol[data-side="consumer"]'),
  };
  const svg = root.querySelector<SVGSVGElement>('svg');
  const empty = root.querySelector<HTMLElement>('[data-empty]');
  let model: GraphModel = { volunteers: [], consumers: [], links: [] };

  const draw = (): void => {
    if (!svg) return;
    // No viewBox: one user unit is one CSS pixel of the box the stylesheet gives the SVG.
    const box = svg.getBoundingClientRect();
    const width = Math.max(1, box.width);
    const centre = (side: Side, key: string): number | undefined => {
      const row = lists[side]?.querySelector<HTMLElement>(`li[data-key="${key}"] .dot`);
      if (!row) return undefined;
      const rect = row.getBoundingClientRect();
      return Math.round((rect.top + rect.height / 2 - box.top) * 10) / 10;
    };
    const heaviest = Math.max(1, ...model.links.map((l) => l.count));
    const paths: SVGElement[] = [gradient(width)];
    for (const link of model.links) {
      const y1 = centre('volunteer', link.from);
      const y2 = centre('consumer', link.to);
      if (y1 === undefined || y2 === undefined) continue;
      const path = document.createElementNS(SVG, 'path');
      const bend = (width / 2).toFixed(1);
      const end = width.toFixed(1);
      path.setAttribute('d', `M0 ${y1} C${bend} ${y1} ${bend} ${y2} ${end} ${y2}`);
      path.setAttribute('stroke-width', (2 + 10 * Math.sqrt(link.count / heaviest)).toFixed(1));
      path.setAttribute('class', 'link');
      path.dataset['from'] = link.from;
      path.dataset['to'] = link.to;
      path.dataset['count'] = String(link.count);
      paths.push(path);
    }
    svg.replaceChildren(...paths);
  };

  new ResizeObserver(draw).observe(root);

  return {
    update(next) {
      model = next;
      fill(lists.volunteer, 'volunteer', next.volunteers);
      fill(lists.consumer, 'consumer', next.consumers);
      if (empty) empty.hidden = next.volunteers.length + next.consumers.length > 0;
      root.dataset['links'] = String(next.links.length);
      draw();
    },
  };
}

function fill(list: HTMLOListElement | null, side: Side, nodes: readonly GraphNode[]): void {
  if (!list) return;
  const largest = Math.max(1, ...nodes.map((n) => n.count));
  list.replaceChildren(
    ...nodes.map((node) => {
      const item = document.createElement('li');
      item.className = 'node';
      item.dataset['role'] = side;
      item.dataset['key'] = node.key;
      item.dataset['count'] = String(node.count);
      const dot = document.createElement('span');
      dot.className = 'dot';
      dot.setAttribute('aria-hidden', 'true');
      // Area grows with the count, so a country with four times as many looks twice as wide.
      dot.style.setProperty(
        '--size',
        `${(10 + 16 * Math.sqrt(node.count / largest)).toFixed(1)}px`,
      );
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = node.label;
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(node.count);
      const label = document.createElement('span');
      label.className = 'label';
      label.append(name, count);
      item.title = `${node.fullName}: ${node.count} ${side === 'volunteer' ? 'volunteers' : 'people browsing'}`;
      item.append(dot, label);
      return item;
    }),
  );
}

/** Lines fade from the volunteers' colour to the browsing side's, across the whole width. */
function gradient(width: number): SVGElement {
  const defs = document.createElementNS(SVG, 'defs');
  const linear = document.createElementNS(SVG, 'linearGradient');
  linear.id = 'ns-link-gradient';
  linear.setAttribute('gradientUnits', 'userSpaceOnUse');
  linear.setAttribute('x1', '0');
  linear.setAttribute('y1', '0');
  linear.setAttribute('x2', String(width));
  linear.setAttribute('y2', '0');
  for (const [offset, side] of [
    ['0', 'volunteer'],
    ['1', 'consumer'],
  ] as const) {
    const stop = document.createElementNS(SVG, 'stop');
    stop.setAttribute('offset', offset);
    stop.setAttribute('class', `stop-${side}`);
    linear.append(stop);
  }
  defs.append(linear);
  return defs;
}
