// `make bench BENCH=tls`: full TLS handshakes per second (no resumption: `openssl s_time -new`, one
// sequential client) against labnet HTTPS with the handshake demo on (default budget: 100 recorded
// handshakes/s), with every handshake tapped ("tap all"), with the demo off, a minimal
// node:https server and nginx (one worker, temp config), all with the same RSA-2048 certificate and
// the same forced suite (TLS 1.3 TLS_AES_128_GCM_SHA256, TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256). Runs
// are interleaved across servers; medians of N runs and ratios to node:https are printed.
// Options: --runs N (default 3), --seconds S per run (default 4).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { arg, freePort, median } from '../support/bench-util.js';

const RUNS = Math.min(9, Math.max(1, Number(arg('runs', '3'))));
const SECONDS = Math.min(30, Math.max(1, Number(arg('seconds', '4'))));

/** Handshakes/s from one bounded `openssl s_time -new` run (count over our own wall-clock time). */
function sTime(port: number, version: '1.3' | '1.2'): Promise<number> {
  const suite = version === '1.3' ? ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256'] : ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-time', String(SECONDS), ...suite], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), (SECONDS + 20) * 1000);
    p.on('close', () => {
      clearTimeout(kill);
      const ms = performance.now() - t0;
      const m = /(\d+) connections in [\d.]+s;/.exec(out);
      if (!m) reject(new Error(`s_time output without a count:\n${out}`));
      else resolve(Number(m[1]) / (ms / 1000));
    });
  });
}

/** CPU seconds (user + system) used so far by a process and its descendants (nginx's worker), from /proc. */
function cpuSeconds(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (CLK_TCK 100)
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) if (c) stack.push(Number(c));
    } catch {
      // gone
    }
  }
  return total;
}

interface Sample {
  perSecond: number;
  perCpuSecond: number;
}

async function measure(port: number, pid: number, version: '1.3' | '1.2'): Promise<Sample> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  const perSecond = await sTime(port, version);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - c0;
  return { perSecond, perCpuSecond: cpu > 0 ? (perSecond * seconds) / cpu : Number.NaN };
}

async function waitTls(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stdin.end();
      p.on('close', () => resolve(/Cipher is (?!\(NONE\))/.test(out)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no TLS server on ${port}`);
}

async function main(): Promise<void> {
  const stops: Array<() => Promise<unknown>> = [];
  const work = mkdtempSync(join(tmpdir(), 'labnet-tls-bench-'));
  try {
    const labOn: LabProcess = await startLabProcess({ only: ['http'], config: { services: { http: { handshakeDemo: true } } }, timeoutMs: 30_000 });
    stops.push(async () => {
      await labOn.stop();
      labOn.cleanup();
    });
    // Same key everywhere: the other labs use the first lab's certificate files.
    const certFile = join(labOn.dataDir, 'tls', 'server.crt');
    const keyFile = join(labOn.dataDir, 'tls', 'server.key');
    const labAll: LabProcess = await startLabProcess({
      only: ['http'],
      config: { tls: { certFile, keyFile }, services: { http: { handshakeDemo: true, handshakeDemoMaxPerSecond: 0 } } },
      timeoutMs: 30_000,
    });
    stops.push(async () => {
      await labAll.stop();
      labAll.cleanup();
    });
    const labOff: LabProcess = await startLabProcess({
      only: ['http'],
      config: { tls: { certFile, keyFile }, services: { http: { handshakeDemo: false } } },
      timeoutMs: 30_000,
    });
    stops.push(async () => {
      await labOff.stop();
      labOff.cleanup();
    });

    const nodePort = await freePort();
    const nodeScript = `
      const https = require('node:https'); const fs = require('node:fs');
      https.createServer({ key: fs.readFileSync(${JSON.stringify(keyFile)}), cert: fs.readFileSync(${JSON.stringify(certFile)}) }, (q, r) => r.end('ok'))
        .listen(${nodePort}, '127.0.0.1');`;
    const nodeProc: ChildProcess = spawn(process.execPath, ['-e', nodeScript], { stdio: 'ignore' });
    stops.push(async () => {
      nodeProc.kill('SIGTERM');
    });

    const nginxPort = await freePort();
    mkdirSync(join(work, 'logs'));
    writeFileSync(
      join(work, 'nginx.conf'),
      `worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    ssl_certificate ${certFile};
    ssl_certificate_key ${keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    location / { return 200 "ok"; }
  }
}
`,
    );
    const nginx: ChildProcess = spawn('nginx', ['-c', join(work, 'nginx.conf'), '-p', work], { stdio: 'ignore' });
    stops.push(async () => {
      nginx.kill('SIGTERM');
    });

    const servers: Array<[string, number, number]> = [
      ['labnet demo on', labOn.port('http', 'https'), labOn.proc.pid!],
      ['labnet tap all', labAll.port('http', 'https'), labAll.proc.pid!],
      ['labnet demo off', labOff.port('http', 'https'), labOff.proc.pid!],
      ['node:https', nodePort, nodeProc.pid!],
      ['nginx', nginxPort, nginx.pid!],
    ];
    for (const [, port] of servers) await waitTls(port);
    process.stdout.write(
      `TLS full handshakes (openssl s_time -new, 1 sequential client, ${SECONDS} s per run, runs interleaved, median of ${RUNS}), RSA-2048 certificate.\n` +
        'Per second of wall time, and per CPU second of the server process (robust when other work shares the machine).\n',
    );
    for (const version of ['1.3', '1.2'] as const) {
      const results = new Map<string, Sample[]>(servers.map(([n]) => [n, []]));
      for (let run = 0; run < RUNS; run++) {
        for (const [name, port, pid] of servers) results.get(name)!.push(await measure(port, pid, version));
      }
      const med = (name: string, k: keyof Sample) => median(results.get(name)!.map((x) => x[k]));
      process.stdout.write(`TLS ${version}:\n`);
      for (const [name] of servers) {
        const w = med(name, 'perSecond');
        const c = med(name, 'perCpuSecond');
        const runs = results
          .get(name)!
          .map((x) => x.perSecond.toFixed(0))
          .join(', ');
        process.stdout.write(
          `  ${name.padEnd(16)} ${w.toFixed(0).padStart(6)}/s  ${(w / med('node:https', 'perSecond')).toFixed(2)}x node:https  ${(w / med('nginx', 'perSecond')).toFixed(2)}x nginx` +
            `  | ${c.toFixed(0).padStart(6)}/CPU-s  ${(c / med('node:https', 'perCpuSecond')).toFixed(2)}x node:https  ${(c / med('nginx', 'perCpuSecond')).toFixed(2)}x nginx  (runs/s: ${runs})\n`,
        );
      }
    }
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`tls bench failed: ${String(err)}\n`);
    process.exit(1);
  },
);
