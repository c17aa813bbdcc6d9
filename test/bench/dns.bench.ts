// `make bench BENCH=dns`: queries per second of labnet's DNS against dnsmasq serving the same zone
// (test/dns/reference-zone.ts: host and service names, MX, the six mail SRV records with labnet's real
// ports, PTR, SOA, NS), in one run, measured by dnsperf (Debian's DNS load generator) on loopback.
// The query mix: every record type of the zone, PTR, NXDOMAIN, NODATA and REFUSED (a name outside the
// lab), with EDNS as stub resolvers send it. Each round runs dnsperf for PERIOD seconds against one
// server, then the other (the order alternates); RUNS rounds, medians printed with their ratio, plus
// each server's CPU time per 10,000 answered queries (from /proc; 10 ms ticks). labnet runs with its
// per-client rate limit off (dnsmasq has none) and its default UDP transport (the udp-batch addon when
// built; UDP_TRANSPORT=dgram measures node:dgram); the answers' response codes must match dnsmasq's.
//   make bench BENCH=dns       (env: RUNS=5 PERIOD=5 CLIENTS=4 THREADS=2 OUTSTANDING=200 UDP_TRANSPORT=auto)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, median } from '../support/bench-util.js';
import { startLabProcess } from '../support/lab-process.js';
import { labnetDnsConfig, SPEC_DEFAULTS, startDnsmasq, answers, specFromLab } from '../dns/reference-zone.js';

const RUNS = Number(process.env.RUNS ?? 5);
const PERIOD = Number(process.env.PERIOD ?? 5);
const CLIENTS = Number(process.env.CLIENTS ?? 4);
const THREADS = Number(process.env.THREADS ?? 2);
const OUTSTANDING = Number(process.env.OUTSTANDING ?? 200);
const UDP_TRANSPORT = process.env.UDP_TRANSPORT ?? 'auto';

const QUERIES = [
  'labnet.lab.test A',
  'labnet.lab.test AAAA',
  'mail.lab.test A',
  'www.lab.test A',
  'autoconfig.lab.test A',
  'autodiscover.lab.test AAAA',
  'lab.test MX',
  'lab.test SOA',
  'lab.test NS',
  '_submission._tcp.lab.test SRV',
  '_imaps._tcp.lab.test SRV',
  '_imap._tcp.lab.test SRV',
  '_pop3s._tcp.lab.test SRV',
  '10.2.0.192.in-addr.arpa PTR',
  'nothere.lab.test A',
  'student42.lab.test AAAA',
  'mail.lab.test MX',
  'www.example.com A',
];

/** utime + stime of a process in ms (Linux /proc, 10 ms clock ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Result {
  qps: number;
  completed: number;
  lostPct: number;
  cpuPer10k: number;
  rcodes: string;
}

function dnsperf(port: number, file: string, pid: number): Promise<Result> {
  const args = [
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    file,
    '-l',
    String(PERIOD),
    '-c',
    String(CLIENTS),
    '-T',
    String(THREADS),
    '-q',
    String(OUTSTANDING),
    '-e',
  ];
  return new Promise((resolve, reject) => {
    const cpu0 = cpuMs(pid);
    const proc = spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), (PERIOD + 30) * 1000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      const cpu = cpuMs(pid) - cpu0;
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
      const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1]);
      const lostPct = Number(/Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(out)?.[1]);
      // "NOERROR 69277 (75.00%), NXDOMAIN ..." -> "NOERROR 75%, NXDOMAIN ...": the mix, not the counts.
      const rcodes = (/Response codes:\s+(.*)/.exec(out)?.[1] ?? '').replace(/ \d+ \(([\d.]+)%\)/g, (_, pct: string) => ` ${Math.round(Number(pct))}%`);
      if (code !== 0 || !Number.isFinite(qps)) reject(new Error(`dnsperf failed (${code}):\n${out}`));
      else resolve({ qps, completed, lostPct, cpuPer10k: completed > 0 ? (cpu * 10_000) / completed : NaN, rcodes });
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-bench-dns-'));
  const file = join(dir, 'queries.txt');
  writeFileSync(file, `${QUERIES.join('\n')}\n`);
  const lab = await startLabProcess({
    only: ['dns', 'smtp', 'imap', 'pop3'],
    config: {
      domain: SPEC_DEFAULTS.domain,
      hostname: SPEC_DEFAULTS.hostname,
      services: { dns: { ...labnetDnsConfig({ ...SPEC_DEFAULTS, srv: {} }, 0), udpTransport: UDP_TRANSPORT } },
    },
  });
  const spec = specFromLab(lab.ports);

  const labPort = lab.port('dns');
  const dmPort = await freePort();
  const dm = await startDnsmasq(spec, '127.0.0.1', dmPort);
  try {
    if (!(await answers('127.0.0.1', labPort, 5000))) throw new Error('labnet DNS does not answer');
    const servers = [
      { name: 'labnet', port: labPort, pid: lab.proc.pid!, results: [] as Result[] },
      { name: 'dnsmasq', port: dmPort, pid: dm.pid, results: [] as Result[] },
    ];
    console.log(`labnet UDP transport: ${UDP_TRANSPORT}`);
    console.log(`dnsperf -l ${PERIOD} -c ${CLIENTS} -T ${THREADS} -q ${OUTSTANDING} -e, ${QUERIES.length} queries in the mix, ${RUNS} rounds`);
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const r = await dnsperf(s.port, file, s.pid);
        s.results.push(r);
        console.log(
          `  round ${run + 1} ${s.name.padEnd(8)} ${r.qps.toFixed(0).padStart(7)} q/s  lost ${r.lostPct.toFixed(2)}%  cpu ${r.cpuPer10k.toFixed(0)} ms/10k`,
        );
      }
    }
    const [l, d] = servers;
    if (l.results[0].rcodes !== d.results[0].rcodes) {
      console.log(`response codes differ:\n  labnet:  ${l.results[0].rcodes}\n  dnsmasq: ${d.results[0].rcodes}`);
      process.exitCode = 1;
    } else console.log(`response codes (both): ${l.results[0].rcodes}`);
    const m = (s: (typeof servers)[number], f: (r: Result) => number): number => median(s.results.map(f));
    console.log('\nserver    median q/s   lost %   cpu ms/10k');
    for (const s of servers)
      console.log(
        `${s.name.padEnd(8)} ${m(s, (r) => r.qps)
          .toFixed(0)
          .padStart(11)} ${m(s, (r) => r.lostPct)
          .toFixed(2)
          .padStart(8)} ${m(s, (r) => r.cpuPer10k)
          .toFixed(0)
          .padStart(12)}`,
      );
    const ratio = m(l, (r) => r.qps) / m(d, (r) => r.qps);
    console.log(`\nlabnet / dnsmasq queries per second: ${ratio.toFixed(2)} (target >= 1.0)`);
    console.log(`labnet / dnsmasq CPU per query:     ${(m(l, (r) => r.cpuPer10k) / m(d, (r) => r.cpuPer10k)).toFixed(2)} (lower is better)`);
  } finally {
    await dm.stop();
    await lab.stop();
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
