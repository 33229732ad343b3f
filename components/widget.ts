/**
 * The widget as sites embed it: the element, with the real volunteer runtime
 * (mesh, loaded on first use) unless a page installs another factory.
 */
import { BrowsersUnbounded } from './browsers-unbounded.ts';
import { meshVolunteerFactory } from './mesh-volunteer.ts';

BrowsersUnbounded.volunteerFactory ??= meshVolunteerFactory;
// This module is the bundle's entry, so this is the URL of the script the page loaded: on a
// page of another site, the widget's own site (signaling, config.json, pages) is found from it.
BrowsersUnbounded.scriptUrl ??= import.meta.url;

export { BrowsersUnbounded };
