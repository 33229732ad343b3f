// The site's pages live in site/ and its static files in public/; the build
// goes to dist/site so it sits beside the compiled Node code in dist/.
import { defineConfig } from 'astro/config';

export default defineConfig({
  srcDir: './site',
  publicDir: './public',
  outDir: './dist/site',
  trailingSlash: 'always',
});
