// The real capture against the real `labnet start` process: curl's frames on loopback linked to its
// HTTP session (read back from /lab/capture.pcapng with tshark); the route's instructor check; as an
// unprivileged user the capture is refused with a clear message and the lab runs on; a capture tool
// that dies is restarted with a notice; a flood thins the capture and it comes back when the traffic
// calms. Root only (capture, namespaces, running as another user).
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isRoot, NetnsFixture, sleep, waitFor } from '../dhcp/netns-fixture.js';
import { CLI, parseReadyTable, startLabProcess } from '../support/lab-process.js';
import { runTool } from '../tls/run-tool.js';
import { startNetnsLab, USERS } from './netns-lab.js';
import { tsharkColumns } from './tshark.js';

const USERS_CFG = { users: USERS, instructors: ['alice'] };

/** The JSON log lines labnet wrote (pino, one object per line). */
function logLines(out: string): Array<{ msg?: string; level?: number; session?: string }> {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string; level?: number; session?: string };
      } catch {
        return {};
      }
    });
}

test.serial("curl's frames are captured and linked to its HTTP session in the real labnet process", async (t) => {
  if (!isRoot()) return void t.pass('skipped: capture needs root');
  const lab = await startLabProcess({ only: ['http'], config: { ...USERS_CFG, capture: { enabled: true, interface: 'lo' } }, args: ['--log-level', 'debug'] });
  const dir = mkdtempSync(join(tmpdir(), 'labnet-capture-'));
  try {
    const port = lab.port('http');
    const curl = await runTool('curl', ['-sS', '-o', '/dev/null', '-w', '%{local_port}', `http://127.0.0.1:${port}/hello.txt`]);
    t.is(curl.code, 0, curl.stderr);
    const clientPort = Number(curl.stdout);
    const open = logLines(lab.stdout()).find((l) => l.msg?.includes(`open from 127.0.0.1:${clientPort}`));
    t.truthy(open, 'labnet logged the session');
    const session = open!.session!;
    // The capture tool writes a few times a second: fetch until curl's frames are in.
    const file = join(dir, 'capture.pcapng');
    let rows: string[][] = [];
    for (let i = 0; i < 40; i++) {
      const r = await runTool('curl', ['-sS', '-u', 'alice:alice-pw', '-o', file, '-w', '%{http_code}', `http://127.0.0.1:${port}/lab/capture.pcapng`]);
      t.is(r.stdout, '200');
      // The lab's port is an ephemeral one, which tshark may hand to another protocol's dissector
      // (its table registers many ports in that range): decode it as HTTP, as Wireshark's "Decode As".
      rows = (await tsharkColumns(file, ['tcp.srcport', 'tcp.dstport', 'frame.comment', 'http.request.uri'], ['-d', `tcp.port==${port},http`])).filter(
        (c) => Number(c[0]) === clientPort || Number(c[1]) === clientPort,
      );
      if (rows.length >= 10 && rows.some((r) => r[3] === '/hello.txt')) break;
      await sleep(100);
    }
    // SYN, SYN+ACK, ACK, the request and its ACK, the response and its ACK, and the close.
    t.true(rows.length >= 8, `curl's frames in the capture: ${rows.length}`);
    for (const r of rows) t.regex(r[2], new RegExp(`session ${session}\\b`), 'every frame of the connection names its session');
    t.true(
      rows.some((r) => r[3] === '/hello.txt'),
      `tshark sees the request in the exported frames: ${JSON.stringify(rows)}`,
    );
    // Only an instructor gets the whole lab's capture.
    const anonymous = await runTool('curl', ['-sS', '-o', '/dev/null', '-D', '-', `http://127.0.0.1:${port}/lab/capture.pcapng`]);
    t.regex(anonymous.stdout, /^HTTP\/1\.1 401/);
    t.regex(anonymous.stdout, /WWW-Authenticate: Basic realm="labnet instructors"/i);
    const student = await runTool('curl', ['-sS', '-u', 'bob:bob-pw', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/lab/capture.pcapng`]);
    t.is(student.stdout, '401');
    const wrong = await runTool('curl', ['-sS', '-u', 'alice:nope', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/lab/capture.pcapng`]);
    t.is(wrong.stdout, '401');
  } finally {
    await lab.stop();
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('without CAP_NET_RAW the capture says so and the lab runs on', async (t) => {
  if (!isRoot()) return void t.pass('skipped: needs root to run labnet as another user');
  const dir = mkdtempSync(join(tmpdir(), 'labnet-nobody-'));
  chmodSync(dir, 0o777);
  const config = join(dir, 'labnet.yaml');
  writeFileSync(
    config,
    stringify({
      dataDir: join(dir, 'data'),
      listen: '127.0.0.1',
      ...USERS_CFG,
      services: { http: { port: 0, httpsPort: 0 } },
      capture: { enabled: true, interface: 'lo' },
    }),
  );
  chmodSync(config, 0o644);
  const proc = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'start', '--only', 'http', '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    // The capture's refusal is reported when dumpcap's probe ends, which can come after the ready table.
    t.true(await waitFor(() => (/labnet ready[^]*\n$/.test(out) && /packet capture is not permitted/.test(out)) || proc.exitCode !== null, 30_000), out);
    t.regex(out, /packet capture is not permitted: dumpcap needs the CAP_NET_RAW capability to capture on lo/);
    t.regex(out, /setcap cap_net_raw/);
    const ports = parseReadyTable(out);
    const r = await runTool('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${ports.http}/hello.txt`]);
    t.is(r.stdout, '200', 'the lab serves without the capture');
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The capture tool labnet started (its only child whose command is dumpcap). */
function dumpcapChild(pid: number): number | undefined {
  const r = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.trim().endsWith('dumpcap'));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}

test.serial('a capture tool that dies is restarted with a notice; a flood thins the capture until it calms', async (t) => {
  if (!isRoot()) return void t.pass('skipped: needs root for network namespaces');
  const fx = new NetnsFixture('10.68.0');
  try {
    const link = fx.addLink();
    await fx.run(fx.clientNs, ['ip', 'addr', 'add', '10.68.0.9/24', 'dev', link.name]);
    const lab = await startNetnsLab(fx, { capture: { enabled: true, maxFramesPerSecond: 400 } }, 'http,dhcp');
    t.teardown(() => void lab.stop());
    const child = dumpcapChild(lab.pid);
    t.truthy(child, 'labnet runs dumpcap');
    process.kill(child!, 'SIGKILL');
    t.true(await waitFor(() => /packet capture stopped: dumpcap exited/.test(lab.stdout()), 10_000), 'a notice says the capture stopped');
    t.true(await waitFor(() => /packet capture restarted on/.test(lab.stdout()), 15_000), 'and that it was restarted');
    const again = dumpcapChild(lab.pid);
    t.truthy(again);
    t.not(again, child);

    // A flood: well over 400 frames a second on the lab's HTTP port.
    const flood = `
import http.client, time
c = http.client.HTTPConnection('10.68.0.1', ${lab.ports.http})
end = time.time() + 4
n = 0
while time.time() < end and n < 20000:
    c.request('GET', '/hello.txt'); c.getresponse().read(); n += 1
print(n)`;
    const r = await fx.run(fx.clientNs, ['python3', '-c', flood], 30_000);
    t.is(r.code, 0, r.stderr);
    t.true(Number(r.stdout) > 400, `requests sent: ${r.stdout}`);
    t.true(await waitFor(() => /packet capture thinned: more than 400 frames per second/.test(lab.stdout()), 10_000), 'the capture thins under the flood');
    t.true(await waitFor(() => /packet capture back to every frame/.test(lab.stdout()), 20_000), 'and comes back once the traffic calms');
    // Still capturing every frame: a new request's handshake is in the export.
    const after = await fx.run(fx.clientNs, ['curl', '-sS', '-o', '/dev/null', '-w', '%{local_port}', `http://10.68.0.1:${lab.ports.http}/hello.txt`]);
    const clientPort = Number(after.stdout);
    const file = fx.path('after.pcapng');
    let seen = 0;
    for (let i = 0; i < 40 && seen < 8; i++) {
      await fx.run(fx.clientNs, ['curl', '-sS', '-u', 'alice:alice-pw', '-o', file, `http://10.68.0.1:${lab.ports.http}/lab/capture.pcapng`]);
      seen = (await tsharkColumns(file, ['tcp.srcport', 'tcp.dstport'])).filter((c) => Number(c[0]) === clientPort || Number(c[1]) === clientPort).length;
      if (seen < 8) await sleep(100);
    }
    t.true(seen >= 8, `frames of the connection after the flood: ${seen}`);
  } finally {
    await fx.destroy();
  }
});
