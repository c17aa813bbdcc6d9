#!/usr/bin/env node
// Builds services/dhcp/native/bind-device (labnet's only native code: SO_BINDTODEVICE for the DHCP sockets) with
// the node-gyp that ships inside npm, using the Node headers installed with Node when they are there
// (no download). Runs from `npm ci` (the package's install script) and from `npm run build` when the
// addon is missing. A failed build is reported but does not fail the install: only the DHCP service
// needs the addon, and it says so clearly when it is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, 'bind-device');
const out = join(dir, 'build', 'Release', 'bind_device.node');
const src = join(dir, 'bind_device.c');
if (process.argv.includes('--if-missing') && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) process.exit(0);
if (process.platform !== 'linux') {
  console.log('bind-device: not Linux, skipped (the DHCP service needs Linux)');
  process.exit(0);
}

function findNodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(resolve(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push('/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js', '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return candidates.find((c) => existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) {
  console.error('bind-device: node-gyp not found (it ships with npm); the DHCP service will not start until the addon is built');
  process.exit(0);
}
const args = [gyp, 'rebuild', '--directory', dir];
const nodeRoot = resolve(dirname(process.execPath), '..');
if (existsSync(join(nodeRoot, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeRoot}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0) {
  console.error('bind-device: build failed; the DHCP service will not start until `node services/dhcp/native/build-addon.mjs` succeeds');
  process.exit(0);
}
console.log(`bind-device: built ${out}`);
