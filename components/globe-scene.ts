/**
 * The WebGL globe. This module, globe.gl and three make up the lazy chunk: `bu-globe`
 * imports it only when the globe is on and the widget is on screen.
 */
import Globe, { type GlobeInstance } from 'globe.gl';
import {
  BufferGeometry,
  Color,
  Float32BufferAttribute,
  MeshPhongMaterial,
  Points,
  PointsMaterial,
} from 'three';
import type { Consumer } from './connection-tracker.ts';
import { COUNTRY_CENTROIDS_TEXT } from './geo/country-centroids.ts';
import { LAND_MASK_BASE64, LAND_MASK_STEP } from './geo/land-mask.ts';

export interface GlobeSceneOptions {
  readonly width: number;
  readonly height: number;
  readonly dark: boolean;
  readonly reducedMotion: boolean;
}

export interface GlobeScene {
  /** Arcs from the volunteer's country to each consumer's country. */
  update(selfCountry: string | null, consumers: readonly Consumer[]): void;
  setTheme(dark: boolean): void;
  setReducedMotion(reduced: boolean): void;
  resize(width: number, height: number): void;
  dispose(): void;
}

type LatLng = readonly [number, number];

const ALTITUDE = 1.65;

let centroids: Map<string, LatLng> | undefined;

export function centroidOf(country: string | null): LatLng | undefined {
  if (country === null) return undefined;
  centroids ??= new Map(
    COUNTRY_CENTROIDS_TEXT.split(';').map((entry) => {
      const [code = '', coordinates = ''] = entry.split(':');
      const [lat = 0, lng = 0] = coordinates.split(',').map(Number);
      return [code, [lat, lng] as const];
    }),
  );
  return centroids.get(country);
}

const PALETTE = {
  light: { sphere: '#eef2f6', land: '#9aa8b8', arc: ['#0b7a6800', '#0b7a68'], ring: '#0b7a68' },
  dark: { sphere: '#172230', land: '#4f6378', arc: ['#43d3b800', '#43d3b8'], ring: '#43d3b8' },
} as const;

function landDots(globe: GlobeInstance): BufferGeometry {
  const bits = Uint8Array.from(atob(LAND_MASK_BASE64), (char) => char.charCodeAt(0));
  const rows = 180 / LAND_MASK_STEP;
  const columns = 360 / LAND_MASK_STEP;
  const positions: number[] = [];
  for (let row = 0; row < rows; row++) {
    const lat = 90 - LAND_MASK_STEP / 2 - row * LAND_MASK_STEP;
    // Fewer dots towards the poles, so they sit about as far apart as at the equator.
    const every = Math.max(1, Math.round(1 / Math.cos((lat * Math.PI) / 180)));
    for (let column = 0; column < columns; column += every) {
      const index = row * columns + column;
      if (((bits[index >> 3] ?? 0) & (1 << (index & 7))) === 0) continue;
      const { x, y, z } = globe.getCoords(lat, -180 + LAND_MASK_STEP / 2 + column * LAND_MASK_STEP);
      positions.push(x, y, z);
    }
  }
  const geometry = new BufferGeometry();
  geometry.setAttribute('position', new Float32BufferAttribute(positions, 3));
  return geometry;
}

interface Arc {
  readonly key: string;
  readonly startLat: number;
  readonly startLng: number;
  readonly endLat: number;
  readonly endLng: number;
}

interface Ring {
  readonly key: string;
  readonly lat: number;
  readonly lng: number;
}

export function createGlobeScene(container: HTMLElement, options: GlobeSceneOptions): GlobeScene {
  let dark = options.dark;
  let reduced = options.reducedMotion;
  const globe = new Globe(container, { animateIn: false, waitForGlobeReady: false });
  const sphere = new MeshPhongMaterial({ shininess: 4 });
  const dots = new PointsMaterial({ size: 1.5, sizeAttenuation: true });
  const land = new Points(landDots(globe), dots);
  globe
    .width(options.width)
    .height(options.height)
    .backgroundColor('rgba(0,0,0,0)')
    .globeMaterial(sphere)
    .showAtmosphere(true)
    .atmosphereAltitude(0.12)
    .enablePointerInteraction(false)
    .arcStartLat('startLat')
    .arcStartLng('startLng')
    .arcEndLat('endLat')
    .arcEndLng('endLng')
    .arcStroke(0.7)
    .arcAltitudeAutoScale(0.45)
    .arcsTransitionDuration(0)
    .ringLat('lat')
    .ringLng('lng')
    .ringMaxRadius(4)
    .ringPropagationSpeed(2)
    .ringRepeatPeriod(1400);
  globe.scene().add(land);
  const controls = globe.controls();
  controls.enableZoom = false;
  controls.enablePan = false;
  controls.autoRotate = false;

  let self: LatLng | undefined;
  let arcs: Arc[] = [];
  let rings: Ring[] = [];

  const applyTheme = () => {
    const palette = dark ? PALETTE.dark : PALETTE.light;
    sphere.color = new Color(palette.sphere);
    dots.color = new Color(palette.land);
    globe.atmosphereColor(dark ? '#2c6f86' : '#b9d6e6');
    globe.arcColor(() => [...palette.arc]);
    globe.ringColor(() => (t: number) => `${palette.ring}${hexAlpha(1 - t)}`);
  };
  const applyMotion = () => {
    globe.arcDashLength(reduced ? 1 : 0.5).arcDashGap(reduced ? 0 : 0.25);
    globe.arcDashAnimateTime(reduced ? 0 : 2400);
    // Rings pulse where someone is being helped; with reduced motion, the arcs say it.
    globe.ringsData(reduced ? [] : rings);
  };
  applyTheme();
  globe.pointOfView({ lat: 30, lng: 20, altitude: ALTITUDE });
  let view = '';

  return {
    update(selfCountry, consumers) {
      self = centroidOf(selfCountry);
      const start = self ?? centroidOf('US');
      const nextArcs: Arc[] = [];
      rings = [];
      for (const consumer of consumers) {
        const end = centroidOf(consumer.country);
        if (!start || !end) continue;
        nextArcs.push({
          key: consumer.peerKey,
          startLat: start[0],
          startLng: start[1],
          endLat: end[0],
          endLng: end[1],
        });
        rings.push({ key: consumer.peerKey, lat: end[0], lng: end[1] });
      }
      // Keep the objects of arcs that stay, so their animation does not restart.
      const previous = new Map(arcs.map((arc) => [arc.key, arc]));
      arcs = nextArcs.map((arc) => previous.get(arc.key) ?? arc);
      globe.arcsData(arcs);
      applyMotion();
      // Turn, slowly, to where the arcs are, so they are in front rather than behind.
      const centre = sphericalMean([
        ...(self ? [self] : []),
        ...rings.map((ring) => [ring.lat, ring.lng] as const),
      ]);
      const key = centre ? `${centre[0].toFixed(0)},${centre[1].toFixed(0)}` : '';
      if (centre && key !== view) {
        view = key;
        globe.pointOfView(
          { lat: centre[0], lng: centre[1], altitude: ALTITUDE },
          reduced ? 0 : 1500,
        );
      }
    },
    setTheme(value) {
      dark = value;
      applyTheme();
    },
    setReducedMotion(value) {
      reduced = value;
      applyMotion();
    },
    resize(width, height) {
      globe.width(width).height(height);
    },
    dispose() {
      globe.pauseAnimation();
      land.geometry.dispose();
      dots.dispose();
      sphere.dispose();
      globe._destructor();
      globe.renderer().dispose();
      container.replaceChildren();
    },
  };
}

/** The mean direction of some points on the sphere, or undefined if they cancel out. */
function sphericalMean(points: readonly LatLng[]): LatLng | undefined {
  let x = 0;
  let y = 0;
  let z = 0;
  for (const [lat, lng] of points) {
    const phi = (lat * Math.PI) / 180;
    const lambda = (lng * Math.PI) / 180;
    x += Math.cos(phi) * Math.cos(lambda);
    y += Math.cos(phi) * Math.sin(lambda);
    z += Math.sin(phi);
  }
  const length = Math.hypot(x, y, z);
  if (length < 1e-6 * Math.max(1, points.length)) return points[0];
  return [(Math.asin(z / length) * 180) / Math.PI, (Math.atan2(y, x) * 180) / Math.PI];
}

function hexAlpha(alpha: number): string {
  return Math.round(Math.max(0, Math.min(1, alpha)) * 255)
    .toString(16)
    .padStart(2, '0');
}
