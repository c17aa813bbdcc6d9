#!/usr/bin/env node
// Builds services/dns/native/udp-batch (the lab DNS's batched UDP transport, see udp_batch.c) with
// the node-gyp that ships inside npm and the Node headers installed with Node (no download). Runs from
// `npm ci` and from `npm run build` when the addon is missing or older than its source. A failed build
// is reported but fails nothing: the DNS service then uses node:dgram (slower) and says so.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'udp-batch');
const out = join(dir, 'build', 'Release', 'udp_batch.node');
const src = join(dir, 'udp_batch.c');
if (process.argv.includes('--if-missing') && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) process.exit(0);
if (process.platform !== 'linux') {
  console.log('udp-batch: not Linux, skipped (the DNS service uses node:dgram)');
  process.exit(0);
}
const nodeRoot = resolve(dirname(process.execPath), '..');
const gyp = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath && resolve(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(nodeRoot, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((c) => c && existsSync(c));
if (!gyp) {
  console.error('udp-batch: node-gyp not found (it ships with npm); the DNS service will use node:dgram');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', dir];
if (existsSync(join(nodeRoot, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeRoot}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0) {
  console.error('udp-batch: build failed; the DNS service will use node:dgram (rebuild with `node services/dns/native/build-addon.mjs`)');
  process.exit(0);
}
console.log(`udp-batch: built ${out}`);
