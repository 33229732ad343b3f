/**
 * The widget as sites embed it: the element, with the real volunteer runtime
 * (mesh, loaded on first use) unless a page installs another factory.
 */
import { BrowsersUnbounded } from './browsers-unbounded.ts';
import { meshVolunteerFactory } from './mesh-volunteer.ts';

BrowsersUnbounded.volunteerFactory ??= meshVolunteerFactory;

export { BrowsersUnbounded };
