// Start-up failures of the real `labnet start` process: out-of-range ports, ports that cannot be
// bound (EACCES as a non-root user, EADDRINUSE), a service that refuses, a data directory that cannot
// be written. Each prints one block naming every failure and the fixes, exits with its documented
// code, and never prints "labnet ready" or a stack trace.
import test from 'ava';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI, PROJECT_ROOT, runCli, startLabProcess, zeroPorts } from '../support/lab-process.js';

const dir = mkdtempSync(join(tmpdir(), 'labnet-startup-'));
// The unprivileged user must reach its data directory.
chmodSync(dir, 0o755);
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** The real CLI, given time on a loaded machine (it exits by itself in every case here). */
function cli(args: string[], cwd?: string): ReturnType<typeof runCli> {
  return runCli(args, { timeoutMs: 90_000, ...(cwd ? { cwd } : {}) });
}

let n = 0;
function config(body: Record<string, unknown>): string {
  const path = join(dir, `c${++n}.yaml`);
  writeFileSync(path, stringify({ listen: '127.0.0.1', dataDir: join(dir, `data${n}`), limits: { shutdownGraceMs: 500 }, ...body }));
  return path;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `labnet start` as user nobody (setpriv(1)): no privileges to bind ports below 1024. */
function runAsNobody(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, CLI, ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function neverReady(t: { false(v: boolean, m?: string): void }, r: Run): void {
  t.false(/labnet ready/.test(r.stdout + r.stderr), 'labnet ready is not printed');
  t.false(/^\s+at \S/m.test(r.stdout + r.stderr), 'no stack trace');
  t.false(/"level":50/.test(r.stdout), 'no error log lines besides the block');
}

async function takenPort(): Promise<net.Server> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

test('--port-offset that pushes a port past 65535 is a config error naming each key and value (exit 2); nothing wraps around', async (t) => {
  const r = await cli(['start', '--config', config({}), '--port-offset', '65500']);
  t.is(r.code, 2, r.stderr);
  for (const [key, port] of [
    ['http.port', 80],
    ['http.httpsPort', 443],
    ['smtp.submissionPort', 587],
    ['smtp.smtpsPort', 465],
    ['pop3.pop3sPort', 995],
    ['imap.imapsPort', 993],
  ] as const)
    t.true(r.stderr.includes(`services.${key}: ${port} + --port-offset 65500 = ${port + 65500}, past 65535`), key);
  t.notRegex(r.stderr, /services\.smtp\.port:/, 'port 25 + 65500 = 65525 is fine');
  t.regex(r.stderr, /use --port-offset 64540 or less/);
  neverReady(t, r);
  // A switched-off listener's port does not count (submission: false); the lab starts.
  const lab = await startLabProcess({
    config: { services: { smtp: { port: 0, submissionPort: 587, smtpsPort: 0, submission: false } } },
    only: ['smtp'],
    args: ['--port-offset', '65500'],
    timeoutMs: 60_000,
  });
  t.regex(lab.stdout(), /labnet ready/);
  t.is(await lab.stop(), 0);
  lab.cleanup();
});

test('a port out of range in the config file is a config error naming it (exit 2)', async (t) => {
  const r = await cli(['start', '--config', config({ services: { smtp: { submissionPort: 70000 } } })]);
  t.is(r.code, 2);
  t.regex(r.stderr, /services\.smtp\.submissionPort: got 70000, expected a number <= 65535/);
  neverReady(t, r);
});

test('as a user without privileges (EACCES): one block naming every port and the three fixes, exit 3', async (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to switch to user nobody');
  if (Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) < 25) return t.pass('this kernel lets anyone bind low ports');
  const data = join(dir, 'nobody-data');
  mkdirSync(data);
  chmodSync(data, 0o777);
  const r = await runAsNobody(['start', '--config', config({ dataDir: data }), '--log-level', 'warn']);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /^labnet: could not start: 10 ports could not be bound; nothing is running\.$/m);
  for (const [where, port] of [
    ['smtp', 25],
    ['dns', 53],
    ['http', 80],
    ['pop3', 110],
    ['imap', 143],
    ['http \\(https\\)', 443],
    ['smtp \\(smtps\\)', 465],
    ['smtp \\(submission\\)', 587],
    ['imap \\(imaps\\)', 993],
    ['pop3 \\(pop3s\\)', 995],
  ] as const)
    t.regex(r.stderr, new RegExp(`^ {2}${where}\\s+127\\.0\\.0\\.1:${port}\\s+permission denied \\(EACCES\\)$`, 'm'), where);
  t.regex(r.stderr, /Ports below 1024 \(25, 53, 80, 110, 143, 443, 465, 587, 993, 995\) need privileges/);
  t.regex(r.stderr, /run labnet as root/);
  t.regex(r.stderr, /setcap cap_net_bind_service=\+ep/);
  t.regex(r.stderr, /--port-offset 10000/);
  t.is(r.stderr.match(/labnet:/g)?.length, 1, 'one block');
  neverReady(t, r);
});

test('ports taken by another program (EADDRINUSE), in two services: both named in one block, exit 3', async (t) => {
  const a = await takenPort();
  const b = await takenPort();
  try {
    const services = { ...zeroPorts(), smtp: { ...zeroPorts().smtp, submissionPort: portOf(a) }, pop3: { ...zeroPorts().pop3, port: portOf(b) } };
    const r = await cli(['start', '--config', config({ services }), '--only', 'smtp,pop3', '--log-level', 'warn']);
    t.is(r.code, 3, r.stderr);
    t.regex(r.stderr, /could not start: 2 ports could not be bound/);
    t.regex(r.stderr, new RegExp(`smtp \\(submission\\)\\s+127\\.0\\.0\\.1:${portOf(a)}\\s+already in use \\(EADDRINUSE\\)`));
    t.regex(r.stderr, new RegExp(`pop3\\s+127\\.0\\.0\\.1:${portOf(b)}\\s+already in use \\(EADDRINUSE\\)`));
    t.regex(r.stderr, /Another program already listens on \d+, \d+\. Fix it one of these ways:\n {2}- stop the program that holds the port/);
    neverReady(t, r);
  } finally {
    a.close();
    b.close();
  }
});

test('a service that refuses to start stops the whole start (exit 4): no ready line although the others listened', async (t) => {
  const r = await cli(['start', '--config', config({ services: zeroPorts() }), '--only', 'http,dhcp', '--dhcp-interface', 'nosuch0', '--log-level', 'warn']);
  t.is(r.code, 4, r.stderr);
  t.regex(r.stderr, /could not start: 1 service failed; nothing is running\.\n {2}dhcp: dhcp: interface "nosuch0" does not exist/);
  neverReady(t, r);
});

test('a data directory the user cannot write is named, with the fix (exit 2)', async (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to switch to user nobody');
  const locked = join(dir, 'locked');
  mkdirSync(locked, { mode: 0o755 });
  const r = await runAsNobody(['start', '--config', config({ dataDir: join(locked, 'data') }), '--port-offset', '10000']);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /the data directory \S+locked\/data cannot be created or written by user nobody \(uid \d+\): EACCES\. Choose another with --data-dir DIR/);
  neverReady(t, r);
});

test('start --help documents the exit codes; a bad option is a usage error (exit 2)', async (t) => {
  const help = await cli(['start', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes:\n {2}0 {2}stopped by SIGINT or SIGTERM\n {2}1 {2}internal error/);
  t.regex(help.stdout, / {2}3 {2}ports could not be bound/);
  const bad = await cli(['start', '--port-offset', 'x'], PROJECT_ROOT);
  t.is(bad.code, 2);
});

test('a TLS certificate file that cannot be read fails start-up in one block (exit 4)', async (t) => {
  const missing = join(dir, 'no-such-cert.pem');
  const r = await cli([
    'start',
    '--config',
    config({ tls: { certFile: missing, keyFile: `${missing}.key` }, services: zeroPorts() }),
    '--only',
    'smtp',
    '--log-level',
    'warn',
  ]);
  t.is(r.code, 4, r.stderr);
  t.regex(
    r.stderr,
    /could not start: 1 service failed; nothing is running\.\n {2}core \(mail store, TLS certificate\): ENOENT: no such file or directory, open '\S+no-such-cert\.pem'/,
  );
  neverReady(t, r);
});
