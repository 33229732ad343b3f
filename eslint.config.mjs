import js from '@eslint/js';
import astro from 'eslint-plugin-astro';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Imports point down only (see docs/architecture.md): components, sw, site, cli → mesh →
// protocol; cli, signaling, egress → server-kit → protocol; site → components, sw (the pages
// load the widget and the workers); nothing imports cli or site. protocol/ is wire code: no
// I/O, @noble/* only.
const layer = (...parts) => parts.map((part) => `**/${part}/**`);
const restrict = (files, forbidden, extra = []) => ({
  files,
  ignores: ['**/*.test.ts', '**/test/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          { group: layer(...forbidden), message: 'imports point down only (docs/architecture.md)' },
          ...extra,
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.astro/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  restrict(
    ['protocol/**/*.ts'],
    ['mesh', 'signaling', 'egress', 'server-kit', 'cli', 'components', 'sw', 'site'],
    [
      {
        regex: '^(?!@noble/|\\.{1,2}/)',
        message: 'protocol/ has no I/O and depends on @noble/* only',
      },
    ],
  ),
  restrict(
    ['mesh/**/*.ts'],
    ['signaling', 'egress', 'server-kit', 'cli', 'components', 'sw', 'site'],
  ),
  restrict(
    ['server-kit/**/*.ts'],
    ['mesh', 'signaling', 'egress', 'cli', 'components', 'sw', 'site'],
  ),
  restrict(['signaling/**/*.ts'], ['mesh', 'egress', 'cli', 'components', 'sw', 'site']),
  restrict(['egress/**/*.ts'], ['mesh', 'signaling', 'cli', 'components', 'sw', 'site']),
  restrict(
    ['components/**/*.ts', 'sw/**/*.ts'],
    ['signaling', 'egress', 'server-kit', 'cli', 'site'],
  ),
  // The browser side of the servers' contracts lives in protocol/ (or beside the page, as
  // site/scripts/netstate-data.ts): a page never bundles server code.
  restrict(
    ['site/**/*.ts', 'site/**/*.astro', 'site/**/*.astro/*.ts'],
    ['signaling', 'egress', 'server-kit', 'cli'],
  ),
  restrict(['cli/**/*.ts'], ['components', 'sw', 'site']),
  {
    // A request target is parsed once, by the server's boundary (server-kit/http-boundary.ts);
    // a handler that parses `req.url` again can throw on a target the boundary let through.
    files: ['signaling/**/*.ts', 'egress/**/*.ts', 'cli/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='req'][property.name='url']",
          message:
            'use the URL the server boundary passes to the handler (server-kit/request-target.ts)',
        },
      ],
    },
  },
  // Astro pages: the plugin's parser for the template and frontmatter, its scripts as TS.
  // Type-aware rules need a TS program, which .astro files are not part of.
  ...astro.configs['flat/recommended'],
  {
    files: ['**/*.astro', '**/*.astro/*.ts', '**/*.astro/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: globals.node,
    },
  },
);
