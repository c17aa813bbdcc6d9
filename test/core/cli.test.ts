import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startLabProcess } from '../support/lab-process.js';

const dir = mkdtempSync(join(tmpdir(), 'labnet-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('--help and --version', async (t) => {
  const help = await runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /start \[options\]/);
  const startHelp = await runCli(['start', '--help']);
  for (const flag of ['--config', '--data-dir', '--port-offset', '--only', '--log-level']) t.true(startHelp.stdout.includes(flag), flag);
  const version = await runCli(['--version']);
  t.is(version.code, 0);
  t.regex(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('a bad config file stops start-up with a message naming the key, the value and what is expected', async (t) => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'domain: lab.test\nlisten: 999.1.1.1\nusers:\n  - { name: alice, pasword: x }\n');
  const r = await runCli(['start', '--config', file, '--data-dir', join(dir, 'data')]);
  t.is(r.code, 2);
  t.regex(r.stderr, /listen: got "999\.1\.1\.1", expected an IPv4 or IPv6 address/);
  t.regex(r.stderr, /users\[0\]\.pasword: unknown key/);
  t.regex(r.stderr, /users\[0\]\.password: got nothing, expected a string/);
  t.is(r.stdout, '', 'nothing claims to be ready');
});

test('unreadable and unparsable config files are reported', async (t) => {
  const missing = await runCli(['start', '--config', join(dir, 'nope.yaml')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot read config .*nope\.yaml/);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'users: [\n');
  const r = await runCli(['start', '--config', broken]);
  t.is(r.code, 2);
  t.regex(r.stderr, /not valid YAML/);
});

test('bad command-line values are refused', async (t) => {
  const r = await runCli(['start', '--port-offset', '-5']);
  t.not(r.code, 0);
  t.regex(r.stderr, /--port-offset must be a whole number/);
  const only = await runCli(['start', '--only', 'gopher', '--data-dir', join(dir, 'd2')]);
  t.is(only.code, 2);
  t.regex(only.stderr, /unknown service "gopher"/);
});

test('labnet start prints the ready line and exits 0 on SIGTERM and SIGINT', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const lab = await startLabProcess({ only: [] as string[], args: [] });
    t.regex(lab.stdout(), /labnet ready in \d+ ms/);
    t.regex(lab.stdout(), /SERVICE\s+LISTENER\s+ADDRESS\s+PORT/);
    lab.proc.kill(signal);
    const code = await new Promise<number | null>((r) => lab.proc.once('exit', (c) => r(c)));
    t.is(code, 0, signal);
    lab.cleanup();
  }
});
