// Runs after tsc: makes the CLI entry executable so `npx labnet` works straight after `npm ci`.
import { chmodSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, 'cli.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
