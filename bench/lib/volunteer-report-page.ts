/**
 * The chain bench's volunteer page: the end-to-end suite's volunteer page (mesh's Volunteer,
 * status on `window.buStatus`), which also POSTs that status to the server it came from, since
 * no automation protocol is attached to this browser to read it (see chromium-volunteer.ts).
 */
import '../../test/e2e/fixtures/volunteer-page.ts';

setInterval(() => {
  const status: unknown = Reflect.get(window, 'buStatus');
  void fetch('/status', { method: 'POST', body: JSON.stringify(status) }).catch(() => undefined);
}, 250);
