// `make bench BENCH=http`: wrk against labnet's HTTP service on both plain transports (`labnet`: raw
// libuv handles, `labnet-net`: node:net), a minimal node:http server and nginx (one worker, daemon off,
// config in a temp dir) serving the same files on loopback, in the same run. Three scenarios (13-byte
// keep-alive GET, 100 KB file, Connection: close), median of N runs each, printed as requests/s and
// ratios to nginx and to node:http; a fourth compares, in the same labnet processes and run, the same
// 13-byte file from the upload area (/upload/hello.txt) with the document root. A naive net server (one
// prebuilt response per 'data' event, no HTTP parsing) runs too, as the ceiling of Node's socket layer
// on the machine, and so does a C server (test/bench/http-ceiling.c: epoll, one write() of a prebuilt
// response) as the ceiling of any server here: where it too stays under a ratio, the kernel and wrk set
// the limit, not the server.
// Every server first gets a short warm-up run (same for all, not counted): V8 compiles the Node servers'
// hot code during the first second or two, and a fresh process's first run was the low one.
// The live lab costs something per request (recording budget checks, the lines it records): a third
// labnet process on the raw transport runs with `lab.enabled: false`, and `labnet-lab-off` / `lab-on vs
// off` give that cost as a ratio of the same build in the same run. With --baseline DIR (a built
// worktree of an older commit; default /work/baseline when it holds a build, `--baseline none` skips
// it) that build's labnet runs too, so `vs baseline` says whether a change made HTTP slower.
// Options: --runs N (default 3), --duration 10s, --warmup 2s, --threads 2, --connections 50,
// --baseline DIR|none, --servers a,b (only these, e.g. labnet,labnet-lab-off,baseline), --scenarios
// keep-alive,100k,close (only these), --upload off (skip the /upload/ comparison), --pin S,C (every
// server's processes and threads on CPU S, wrk on CPU C: on a 2-core machine the same build swings
// between about 15 and 33 µs CPU per request from run to run, depending on whether the kernel places
// the server and wrk on one core or two; pinning makes every server's runs alike).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TransportKind } from '../../core/transport.js';
import { PROJECT_ROOT, startLabProcess, type LabProcess } from '../support/lab-process.js';
import { arg, freePort, median } from '../support/bench-util.js';

const RUNS = Number(arg('runs', '3'));
const DURATION = arg('duration', '10s');
const THREADS = arg('threads', '2');
const CONNECTIONS = arg('connections', '50');
const WARMUP = arg('warmup', '2s');
const ONLY_SERVERS = arg('servers', '');
const ONLY_SCENARIOS = arg('scenarios', '');
const UPLOAD = arg('upload', 'on');
const PIN = arg('pin', '');
const [PIN_SERVER, PIN_CLIENT] = PIN === '' ? [undefined, undefined] : PIN.split(',');
const BASELINE_DEFAULT = '/work/baseline';
const BASELINE = arg('baseline', existsSync(join(BASELINE_DEFAULT, 'build', 'labnet.js')) ? BASELINE_DEFAULT : 'none');

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/hello.txt`], { encoding: 'utf8' });
    if (r.stdout === '200') return;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

/** The CPU time (user + system) a process has used so far, in microseconds (0 if /proc has none). */
function cpuMicros(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * One wrk run: requests/s, and with `pid` the server's CPU microseconds per request. CPU per request
 * hardly depends on how busy the rest of the machine is, where requests/s does: on a shared machine
 * it is the steadier figure for comparing two builds or configurations of the same server.
 */
async function wrkCpu(url: string, extra: string[], pid: number | undefined): Promise<{ rps: number; cpuPerRequest: number }> {
  const before = cpuMicros(pid);
  const { rps, requests } = await wrkRun(url, extra);
  const used = cpuMicros(pid) - before;
  return { rps, cpuPerRequest: pid && requests > 0 ? used / requests : Number.NaN };
}

function wrk(url: string, extra: string[], duration = DURATION): Promise<number> {
  return wrkRun(url, extra, duration).then((r) => r.rps);
}

function wrkRun(url: string, extra: string[], duration = DURATION): Promise<{ rps: number; requests: number }> {
  return new Promise((resolve, reject) => {
    const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${duration}`, ...extra, url];
    const p =
      PIN_CLIENT === undefined
        ? spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('taskset', ['-c', PIN_CLIENT, 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', () => {
      const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      if (!m) reject(new Error(`wrk output without Requests/sec:\n${out}`));
      else {
        if (errors) process.stdout.write(`   (warning: ${errors[1]} non-2xx responses from ${url})\n`);
        resolve({ rps: Number(m[1]), requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0) });
      }
    });
  });
}

// The minimal node:http peer: the same files, read once at start and served from memory (the fastest
// honest thing a few lines of node:http can do).
const NODE_HTTP_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const [port, root] = process.argv.slice(1);
const types = { '.txt': 'text/plain; charset=utf-8', '.bin': 'application/octet-stream' };
const files = new Map();
for (const name of fs.readdirSync(root)) files.set('/' + name, { data: fs.readFileSync(path.join(root, name)), type: types[path.extname(name)] || 'application/octet-stream' });
http.createServer((req, res) => {
  const f = files.get(req.url.split('?')[0]);
  if (!f) { res.writeHead(404, { 'Content-Length': 0 }); res.end(); return; }
  res.writeHead(200, { 'Content-Type': f.type, 'Content-Length': f.data.length });
  res.end(f.data);
}).listen(Number(port), '127.0.0.1');
`;

// A reference, not a competitor: the least a Node server can do per request (answer every 'data'
// event with one prebuilt response, no parsing). It shows the ceiling Node's socket layer sets here.
const NAIVE_NET_SERVER = `
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const [port, root] = process.argv.slice(1);
const mk = (name, type, close) => { const d = fs.readFileSync(path.join(root, name)); return Buffer.concat([Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Type: ' + type + '\\r\\nContent-Length: ' + d.length + '\\r\\n' + (close ? 'Connection: close\\r\\n' : '') + '\\r\\n'), d]); };
const small = mk('hello.txt', 'text/plain', false), smallClose = mk('hello.txt', 'text/plain', true), big = mk('100k.bin', 'application/octet-stream', false);
net.createServer({ noDelay: true }, (s) => {
  s.on('error', () => {});
  s.on('data', (d) => {
    const t = d.toString('latin1');
    if (t.includes('100k')) s.write(big);
    else if (t.includes('onnection: close')) s.end(smallClose);
    else s.write(small);
  });
}).listen(Number(port), '127.0.0.1');
`;

function nginxConfig(dir: string, root: string, port: number): string {
  return `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { text/plain txt; application/octet-stream bin; }
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
}

/** Pins a process, its threads and its child processes (nginx's worker) to one CPU. */
function pinTree(pid: number, cpu: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset ${pid}: ${r.stderr}`);
  const kids = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
  for (const k of kids) pinTree(Number(k), cpu);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-bench-http-'));
  chmodSync(dir, 0o755);
  const root = join(dir, 'www');
  mkdirSync(root);
  writeFileSync(join(root, 'hello.txt'), 'Hello, world\n');
  writeFileSync(join(root, '100k.bin'), randomFillSync(Buffer.alloc(100 * 1024)));
  const children: ChildProcess[] = [];
  const labs: LabProcess[] = [];
  try {
    const labPorts: Record<TransportKind, number> = { raw: 0, net: 0 };
    const labPids: Record<TransportKind, number> = { raw: 0, net: 0 };
    for (const transport of ['raw', 'net'] as const) {
      const lab = await startLabProcess({ only: ['http'], config: { services: { http: { documentRoot: root, transport, https: false } } } });
      labs.push(lab);
      labPorts[transport] = lab.port('http');
      labPids[transport] = lab.proc.pid ?? 0;
      // The same file in the upload area, served by the same process.
      writeFileSync(join(lab.dataDir, 'uploads', 'hello.txt'), 'Hello, world\n');
    }
    // The same build on the raw transport with the live lab off: what the lab costs.
    const labOff = await startLabProcess({
      only: ['http'],
      config: { lab: { enabled: false }, services: { http: { documentRoot: root, transport: 'raw', https: false } } },
    });
    labs.push(labOff);
    let baselinePort: number | undefined;
    let baselinePid = 0;
    if (BASELINE !== 'none') {
      const support = join(BASELINE, 'build', 'test', 'support', 'lab-process.js');
      if (existsSync(support)) {
        // The older build's own starter (its config keys may differ: only documentRoot is given).
        const older = (await import(support)) as { startLabProcess: typeof startLabProcess };
        const base = await older.startLabProcess({ only: ['http'], config: { services: { http: { documentRoot: root } } } });
        labs.push(base);
        baselinePort = base.port('http');
        baselinePid = base.proc.pid ?? 0;
      } else console.log(`(no baseline: ${support} is missing; build it with npm ci && make build there)`);
    }
    const nodePort = await freePort();
    children.push(spawn(process.execPath, ['-e', NODE_HTTP_SERVER, String(nodePort), root], { stdio: 'ignore' }));
    const naivePort = await freePort();
    children.push(spawn(process.execPath, ['-e', NAIVE_NET_SERVER, String(naivePort), root], { stdio: 'ignore' }));
    const nginxPort = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, root, nginxPort));
    const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr.on('data', (d: Buffer) => process.stderr.write(`nginx: ${d.toString()}`));
    children.push(nginx);
    // `pid` (labnet processes): their CPU time per request is measured too (see cpuSeconds).
    const servers: Array<{ name: string; port: number; pid?: number }> = [
      { name: 'labnet', port: labPorts.raw, pid: labPids.raw },
      { name: 'labnet-lab-off', port: labOff.port('http'), pid: labOff.proc.pid },
      { name: 'labnet-net', port: labPorts.net, pid: labPids.net },
      { name: 'node:http', port: nodePort },
      { name: 'nginx', port: nginxPort },
      { name: 'net-naive', port: naivePort },
    ];
    if (baselinePort !== undefined) servers.push({ name: 'baseline', port: baselinePort, pid: baselinePid });
    const ceiling = join(dir, 'http-ceiling');
    const cc = spawnSync('cc', ['-O2', '-o', ceiling, join(PROJECT_ROOT, 'test', 'bench', 'http-ceiling.c')], { encoding: 'utf8' });
    if (cc.status === 0) {
      const cPort = await freePort();
      children.push(spawn(ceiling, [String(cPort), root], { stdio: 'ignore' }));
      servers.push({ name: 'c-ceiling', port: cPort });
    } else console.log(`(no C ceiling server: cc failed: ${cc.error?.message ?? cc.stderr})`);
    if (ONLY_SERVERS !== '') {
      const keep = new Set(ONLY_SERVERS.split(','));
      servers.splice(0, servers.length, ...servers.filter((s) => keep.has(s.name)));
    }
    await Promise.all(servers.map((s) => waitForPort(s.port)));
    if (PIN_SERVER !== undefined) {
      const pids = [...labs.map((l) => l.proc.pid), ...children.map((c) => c.pid)].filter((x): x is number => x !== undefined);
      for (const pid of pids) pinTree(pid, PIN_SERVER);
      console.log(`pinned: every server's processes and threads on CPU ${PIN_SERVER}, wrk on CPU ${PIN_CLIENT ?? 'any'}`);
    }
    const scenarios = [
      { key: 'keep-alive', name: '13-byte GET, keep-alive', path: '/hello.txt', extra: [] as string[], target: 1.1 },
      { key: '100k', name: '100 KB file, keep-alive', path: '/100k.bin', extra: [] as string[], target: 0.8 },
      { key: 'close', name: '13-byte GET, Connection: close', path: '/hello.txt', extra: ['-H', 'Connection: close'], target: 0.7 },
    ].filter((sc) => ONLY_SCENARIOS === '' || ONLY_SCENARIOS.split(',').includes(sc.key));
    const labnets = servers.filter((s) => s.name === 'labnet' || s.name === 'labnet-net');
    console.log(`wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, ${RUNS} runs each, median requests/s`);
    const results: Array<{ scenario: string; target: number; medians: Record<string, number>; cpu: Record<string, number> }> = [];
    for (const sc of scenarios) {
      const samples: Record<string, number[]> = Object.fromEntries(servers.map((s) => [s.name, []]));
      const cpuSamples: Record<string, number[]> = Object.fromEntries(servers.map((s) => [s.name, []]));
      if (WARMUP !== '0s') for (const s of servers) await wrk(`http://127.0.0.1:${s.port}${sc.path}`, sc.extra, WARMUP);
      for (let run = 0; run < RUNS; run++) {
        // Rotate the order each run so a load change on the machine does not always hit the same server.
        const order = servers.map((_, i) => servers[(i + run) % servers.length]);
        for (const s of order) {
          const { rps, cpuPerRequest } = await wrkCpu(`http://127.0.0.1:${s.port}${sc.path}`, sc.extra, s.pid);
          samples[s.name].push(rps);
          if (!Number.isNaN(cpuPerRequest)) cpuSamples[s.name].push(cpuPerRequest);
          console.log(
            `  ${sc.name} run ${run + 1} ${s.name}: ${rps.toFixed(0)} req/s${Number.isNaN(cpuPerRequest) ? '' : `, ${cpuPerRequest.toFixed(1)} µs CPU/request`}`,
          );
        }
      }
      const medians: Record<string, number> = {};
      const cpu: Record<string, number> = {};
      for (const s of servers) {
        medians[s.name] = median(samples[s.name]);
        if (cpuSamples[s.name].length > 0) cpu[s.name] = median(cpuSamples[s.name]);
      }
      results.push({ scenario: sc.name, target: sc.target, medians, cpu });
    }
    // The upload area against the document root: the same 13-byte file, the same labnet process.
    const upload: Record<string, { docs: number[]; uploads: number[] }> = Object.fromEntries(labnets.map((s) => [s.name, { docs: [], uploads: [] }]));
    for (let run = 0; UPLOAD !== 'off' && run < RUNS; run++) {
      for (const s of labnets) {
        const docs = await wrk(`http://127.0.0.1:${s.port}/hello.txt`, []);
        const uploads = await wrk(`http://127.0.0.1:${s.port}/upload/hello.txt`, []);
        upload[s.name].docs.push(docs);
        upload[s.name].uploads.push(uploads);
        console.log(`  13-byte GET, /upload/ vs document root, run ${run + 1} ${s.name}: ${uploads.toFixed(0)} vs ${docs.toFixed(0)} req/s`);
      }
    }
    // A server left out (--servers) shows as '-'.
    const num = (x: number | undefined, w: number): string => (x === undefined ? '-' : x.toFixed(0)).padStart(w);
    const ratio = (a: number | undefined, b: number | undefined, w: number): string => (a === undefined || !b ? '-' : (a / b).toFixed(2)).padStart(w);
    const verdict = (a: number | undefined, b: number | undefined, target: number): string =>
      (a === undefined || !b ? '' : a / b >= target ? 'ok' : 'MISSED').padStart(7);
    console.log(
      '\nscenario                          labnet labnet-net  node:http      nginx  labnet/nginx (target)  labnet/node (>= 1.3)  net/nginx  net/node  node/nginx  naive/nginx  C/nginx  C/node',
    );
    for (const r of results) {
      const m = r.medians;
      const [l, ln, n, x] = [m.labnet, m['labnet-net'], m['node:http'], m.nginx];
      console.log(
        `${r.scenario.padEnd(32)} ${num(l, 8)} ${num(ln, 10)} ${num(n, 10)} ${num(x, 10)}  ${ratio(l, x, 6)} (>= ${r.target.toFixed(2)}) ${verdict(l, x, r.target)}  ${ratio(l, n, 8)} ${verdict(l, n, 1.3)}  ${ratio(ln, x, 9)} ${ratio(ln, n, 9)}  ${ratio(n, x, 10)}   ${ratio(m['net-naive'], x, 10)}  ${ratio(m['c-ceiling'], x, 7)} ${ratio(m['c-ceiling'], n, 7)}`,
      );
    }
    // The live lab's cost (same build, same run) and the change against the older build.
    // CPU per request (median µs): lower is better, so the ratios read "times the CPU of".
    console.log(
      '\nscenario                          lab on  lab off  lab on/off  baseline  on/baseline  off/baseline | CPU µs/req: on    off  base  on/off on/base off/base',
    );
    for (const r of results) {
      const m = r.medians;
      const c = r.cpu;
      const [on, off, base] = [m.labnet, m['labnet-lab-off'], m.baseline];
      const us = (x: number | undefined, w: number): string => (x === undefined ? '-' : x.toFixed(1)).padStart(w);
      console.log(
        `${r.scenario.padEnd(32)} ${num(on, 7)} ${num(off, 8)} ${ratio(on, off, 11)} ${num(base, 9)} ${ratio(on, base, 12)} ${ratio(off, base, 13)} |` +
          ` ${us(c.labnet, 14)} ${us(c['labnet-lab-off'], 5)} ${us(c.baseline, 5)} ${ratio(c.labnet, c['labnet-lab-off'], 7)} ${ratio(c.labnet, c.baseline, 7)} ${ratio(c['labnet-lab-off'], c.baseline, 8)}`,
      );
    }
    if (baselinePort !== undefined) console.log(`baseline = labnet built in ${BASELINE} (its default config).`);
    for (const s of labnets) {
      if (UPLOAD === 'off') break;
      const u = median(upload[s.name].uploads);
      const d = median(upload[s.name].docs);
      console.log(`${s.name}: 13-byte GET from /upload/ ${u.toFixed(0)} req/s, from the document root ${d.toFixed(0)} req/s: ${(u / d).toFixed(2)}x`);
    }
    if (results.some((r) => r.medians['c-ceiling'] !== undefined))
      console.log('C = test/bench/http-ceiling.c, one write() of a prebuilt response per request: what any server can reach here.');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    for (const lab of labs) {
      await lab.stop();
      lab.cleanup();
    }
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
