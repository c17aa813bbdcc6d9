// Runs after tsc. Bundles the CLI and everything it imports into one file, build/labnet.js, which is
// what `labnet` (package bin), `make start` and the integration tests run: one module instead of
// several hundred (inversify alone is 336 files) starts in half the time and idles about 15 MB
// lighter. The unbundled build/core/index.js stays the programmatic entry point for test suites.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';
import { projectPath } from './paths.js';

const outfile = projectPath('build', 'labnet.js');
await build({
  entryPoints: [projectPath('build', 'core', 'cli.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Loaded with require() at run time: pino-pretty only on a terminal, native addons by path.
  external: ['pino-pretty', '*.node'],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __labnetCreateRequire } from 'node:module';\nconst require = __labnetCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
