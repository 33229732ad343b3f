// Lets plain Node 20 run the bench drivers written in TypeScript:
// `node --import ./bench/register-ts.mjs bench/run.ts`. Only the drivers go through it; the
// servers under test run from `dist/` (npm run build) or as plain .mjs, so the TypeScript
// compiler is never loaded into a process whose CPU or memory is being measured.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
