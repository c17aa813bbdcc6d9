// Runs after tsc. Bundles the browser code of the live lab (below), and bundles the CLI and everything it imports into one file, build/labnet.js, which is
// what `labnet` (package bin), `make start` and the integration tests run: one module instead of
// several hundred (inversify alone is 336 files) starts in half the time and idles about 15 MB
// lighter. The unbundled build/app/index.js stays the programmatic entry point for test suites.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { build, type Plugin } from 'esbuild';
import { projectPath } from './paths.js';

const outfile = projectPath('build', 'labnet.js');

// zod's `z` namespace re-exports all of its ~40 error-message locales (360 KB of the bundle); labnet
// never switches locale (English is registered by the schemas themselves), so that re-export gets an
// empty module.
const noZodLocales: Plugin = {
  name: 'no-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]zod[/\\]/.test(args.importer) ? { path: 'zod-locales', namespace: 'labnet-empty' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'labnet-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};
await build({
  entryPoints: [projectPath('build', 'app', 'cli.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Whitespace only: names stay, so stack traces still say which function (the linked map gives the
  // source line); the bundle is a third smaller to ship and to parse at start.
  minifyWhitespace: true,
  // Loaded with require() at run time: pino-pretty only on a terminal, native addons by path. The
  // MIME library (1.6 MB) only when the test-suite API first reads mail back (core/mail-api/mime-lib.ts),
  // plist with its XML libraries only for the first Apple profile (core/http/pages/mail-settings.ts).
  external: ['pino-pretty', '*.node', 'mailparser', 'libmime', 'playwright-core', 'plist'],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __labnetCreateRequire } from 'node:module';\nconst require = __labnetCreateRequire(import.meta.url);" },
  plugins: [noZodLocales],
  logLevel: 'warning',
});
// esbuild escapes non-ASCII characters in code but keeps them in the comments it carries over. One
// such character makes V8 hold the whole 2.4 MB source as a two-byte string, twice the memory; the
// comments lose nothing by an ASCII stand-in (same length, so the source map still lines up).
const text = readFileSync(outfile, 'utf8');
const ascii = text.replace(/[^\x00-\x7f]/g, '?');
if (ascii !== text) writeFileSync(outfile, ascii);
chmodSync(outfile, 0o755);

// The live lab's browser code (core/lab/ui/, type-checked by its own tsconfig with the DOM library):
// one script and one stylesheet in build/lab-ui/, served by /lab/app.js and /lab/app.css. Nothing
// comes from a CDN: a classroom lab may be offline.
await build({
  entryPoints: { app: projectPath('core', 'lab', 'ui', 'main.ts') },
  outdir: projectPath('build', 'lab-ui'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
});
await build({
  entryPoints: { app: projectPath('core', 'lab', 'ui', 'app.css') },
  outdir: projectPath('build', 'lab-ui'),
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
