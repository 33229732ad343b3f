/**
 * The light/dark toggle. With no choice stored the site follows `prefers-color-scheme`;
 * a click stores the opposite of what is shown now. Widgets on the page follow the site.
 */
const KEY = 'bu-site-theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

type Theme = 'light' | 'dark';

/** The choice for this page when storage is blocked. */
let memory: Theme | undefined;

function stored(): Theme | undefined {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : undefined;
  } catch {
    return memory;
  }
}

function store(theme: Theme | undefined): void {
  memory = theme;
  try {
    if (theme === undefined) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    /* kept in memory for this page */
  }
}

function effectiveTheme(): Theme {
  return stored() ?? (media.matches ? 'dark' : 'light');
}

function apply(): void {
  const choice = stored();
  const root = document.documentElement;
  if (choice) root.dataset['theme'] = choice;
  else delete root.dataset['theme'];
  const theme = effectiveTheme();
  const button = document.getElementById('theme-toggle');
  if (button) {
    button.setAttribute('aria-pressed', String(theme === 'dark'));
    const label = button.querySelector('.label');
    if (label) label.textContent = 'Dark theme';
    button.title = theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme';
  }
  // Widgets marked to follow the site get the theme the site shows.
  for (const widget of document.querySelectorAll('browsers-unbounded[data-follow-site-theme]')) {
    widget.setAttribute('data-theme', choice ?? 'auto');
  }
  document.dispatchEvent(new CustomEvent('bu-site-theme', { detail: { theme } }));
}

document.getElementById('theme-toggle')?.addEventListener('click', () => {
  const next: Theme = effectiveTheme() === 'dark' ? 'light' : 'dark';
  store(next === (media.matches ? 'dark' : 'light') ? undefined : next);
  apply();
});
media.addEventListener('change', apply);
apply();
