// DHCP benchmark (root): perfdhcp in the client namespace against labnet, Kea (kea-dhcp4, memfile
// leases) and dnsmasq, one after the other on the same namespaces in the same run. For each server
// the offered rate of full 4-way exchanges (DISCOVER-OFFER-REQUEST-ACK) steps up with 10,000
// simulated clients until more than 1% of the exchanges are dropped; the result is the highest rate
// completed under 1% drops. Every step starts the server afresh (empty lease file). Repeated RUNS
// times; medians and ratios printed. For labnet, the lease journal is read back after each step (the
// server killed with SIGKILL first) and must hold at least as many bindings as perfdhcp got ACKs:
// every ACKed lease is durable.
//   make bench BENCH=dhcp            (env: RUNS=3 PERIOD=5 RATES=100,250,500,1000,2000,4000,8000 CLIENTS=10000)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsFixture, sleep, waitFor } from '../dhcp/netns-fixture.js';
import { decodeRecord } from '../../services/dhcp/lease-journal.js';
import { median } from '../support/bench-util.js';

const RUNS = Number(process.env.RUNS ?? 3);
const PERIOD = Number(process.env.PERIOD ?? 5);
const CLIENTS = Number(process.env.CLIENTS ?? 10_000);
const RATES = (process.env.RATES ?? '100,250,500,1000,2000,4000,8000').split(',').map(Number);
const SERVERS = (process.env.SERVERS ?? 'labnet,kea,dnsmasq').split(',');
const PREFIX = '10.80.0';
const POOL = ['10.80.1.0', '10.80.60.255'] as const;

interface Step {
  rate: number;
  sent: number;
  received: number;
  acks: number;
  dropPct: number;
  achieved: number;
  durable?: number;
  /** Server CPU time (user + system) per 1,000 completed exchanges, in ms. */
  cpuPer1000?: number;
}

/** utime + stime of a process in ms (Linux /proc, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function parsePerfdhcp(out: string, rate: number): Step {
  const sections = out.split('***Statistics for: ').slice(1);
  let sent = 0;
  let received = 0;
  let acks = 0;
  for (const s of sections) {
    const sentN = Number(/sent packets: (\d+)/.exec(s)?.[1] ?? 0);
    const recvN = Number(/received packets: (\d+)/.exec(s)?.[1] ?? 0);
    sent += sentN;
    received += recvN;
    if (s.startsWith('REQUEST-ACK')) acks = recvN;
  }
  const dropPct = sent === 0 ? 100 : (100 * (sent - received)) / sent;
  return { rate, sent, received, acks, dropPct, achieved: acks / PERIOD };
}

interface ServerUnderTest {
  name: string;
  start(fx: NetnsFixture, dir: string): Promise<{ pid: number; stop(): Promise<void>; durable?(): number }>;
}

const labnet: ServerUnderTest = {
  name: 'labnet',
  async start(fx, dir) {
    // The rate limits are raised far above what perfdhcp sends (up to 16,000 messages/s from 10,000
    // MACs), not switched off: their code runs on every message, so its cost is in the figures.
    const rateLimit = { perMacPerSecond: 1000, perMacBurst: 1000, totalPerSecond: 1_000_000, totalBurst: 1_000_000 };
    const config = fx.writeLabConfig(
      { subnet: `${PREFIX}.0/16`, range: POOL, router: `${PREFIX}.1`, dns: [`${PREFIX}.53`], domain: 'lab.test', probeMs: 300, rateLimit },
      'bench.yaml',
    );
    // Its own data dir per step.
    const text = readFileSync(config, 'utf8').replace(/^dataDir: .*$/m, `dataDir: ${join(dir, 'labnet-data')}`);
    writeFileSync(config, text);
    const lab = await fx.startLab(config, { logLevel: 'warn' });
    const journal = join(dir, 'labnet-data', 'dhcp', 'leases.journal');
    return {
      pid: lab.pid,
      async stop() {
        await lab.kill();
      },
      durable() {
        if (!existsSync(journal)) return 0;
        // Each ACK is sent only after its own record is on disk (no compaction at this size).
        let bound = 0;
        for (const line of readFileSync(journal, 'utf8').split('\n')) {
          const r = line ? decodeRecord(line) : undefined;
          if (r?.state === 'bound') bound++;
        }
        return bound;
      },
    };
  },
};

async function daemon(
  fx: NetnsFixture,
  args: string[],
  env: Record<string, string> = {},
  ready: (out: string) => boolean,
  name: string,
): Promise<{ pid: number; stop(): Promise<void> }> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const proc = fx.spawnIn(fx.serverNs, envArgs.length ? ['env', ...envArgs, ...args] : args);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const ok = await waitFor(() => ready(out) || proc.exitCode !== null, 15_000);
  if (!ok || proc.exitCode !== null) {
    proc.kill('SIGKILL');
    throw new Error(`${name} did not start:\n${out}`);
  }
  await sleep(300);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await Promise.race([exited, sleep(2000)]);
    },
  };
}

const kea: ServerUnderTest = {
  name: 'kea',
  async start(fx, dir) {
    const config = join(dir, 'kea-dhcp4.json');
    writeFileSync(
      config,
      JSON.stringify({
        Dhcp4: {
          'interfaces-config': { interfaces: [fx.bridge], 'dhcp-socket-type': 'raw' },
          'lease-database': { type: 'memfile', persist: true, name: join(dir, 'kea-leases4.csv'), 'lfc-interval': 0 },
          'valid-lifetime': 3600,
          'control-socket': { 'socket-type': 'unix', 'socket-name': join(dir, 'kea4.sock') },
          subnet4: [
            {
              id: 1,
              subnet: `${PREFIX}.0/16`,
              pools: [{ pool: `${POOL[0]} - ${POOL[1]}` }],
              'option-data': [
                { name: 'routers', data: `${PREFIX}.1` },
                { name: 'domain-name-servers', data: `${PREFIX}.53` },
                { name: 'domain-name', data: 'lab.test' },
              ],
            },
          ],
          loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'INFO' }],
        },
      }),
    );
    return daemon(fx, ['kea-dhcp4', '-c', config], { KEA_LOCKFILE_DIR: dir, KEA_PIDFILE_DIR: dir }, (o) => /DHCP4_STARTED/.test(o), 'kea-dhcp4');
  },
};

const dnsmasq: ServerUnderTest = {
  name: 'dnsmasq',
  async start(fx, dir) {
    const log = join(dir, 'dnsmasq.log');
    const args = [
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      `--interface=${fx.bridge}`,
      '--bind-interfaces',
      '--user=root',
      `--dhcp-range=${POOL[0]},${POOL[1]},255.255.0.0,1h`,
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      '--no-ping',
      '--dhcp-authoritative',
      '--dhcp-lease-max=100000',
      `--dhcp-option=3,${PREFIX}.1`,
      `--dhcp-option=6,${PREFIX}.53`,
      '--domain=lab.test',
      `--log-facility=${log}`,
    ];
    return daemon(fx, args, {}, (o) => /sockets bound/.test(o) || existsSync(join(dir, 'dnsmasq.pid')), 'dnsmasq');
  },
};

const ALL: Record<string, ServerUnderTest> = { labnet, kea, dnsmasq };

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('dhcp bench: needs root (network namespaces); skipped');
    return;
  }
  for (const bin of ['perfdhcp', 'kea-dhcp4', 'dnsmasq']) {
    if (spawnSync('which', [bin]).status !== 0) throw new Error(`${bin} is not installed (make bench installs kea-admin, kea-dhcp4-server, dnsmasq-base)`);
  }
  const fx = new NetnsFixture(PREFIX, 16);
  const best: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const cpuAt: Record<string, number> = {};
  try {
    const link = fx.addLink();
    const r = await fx.run(fx.clientNs, ['ip', 'addr', 'add', `${PREFIX}.2/16`, 'dev', link.name]);
    if (r.code !== 0) throw new Error(r.stderr);
    console.log(`perfdhcp: ${CLIENTS} clients, ${PERIOD} s per step, rates ${RATES.join(', ')}/s, ${RUNS} runs; pool ${POOL[0]}-${POOL[1]}`);
    for (let run = 1; run <= RUNS; run++) {
      // Servers take turns at each rate, so a change in the machine's load hits all of them alike.
      const top: Record<string, number> = {};
      const lines: Record<string, string[]> = {};
      const failed = new Set<string>();
      for (const rate of RATES) {
        for (const name of SERVERS) {
          if (failed.has(name)) continue;
          const server = ALL[name];
          const dir = join(fx.dir, `${name}-${run}-${rate}`);
          mkdirSync(dir, { recursive: true });
          const handle = await server.start(fx, dir);
          let step: Step;
          const cpu0 = cpuMs(handle.pid);
          try {
            const res = await fx.run(
              fx.clientNs,
              [
                'perfdhcp',
                '-4',
                '-l',
                link.name,
                '-r',
                String(rate),
                '-R',
                String(CLIENTS),
                '-p',
                String(PERIOD),
                '-W',
                '1000000',
                '-b',
                `mac=00:0${run}:${(rate % 256).toString(16).padStart(2, '0')}:00:00:00`,
              ],
              (PERIOD + 30) * 1000,
            );
            step = parsePerfdhcp(res.stdout, rate);
            step.cpuPer1000 = ((cpuMs(handle.pid) - cpu0) * 1000) / Math.max(1, step.acks);
            if (process.env.VERBOSE) console.log(res.stdout);
          } finally {
            await handle.stop();
          }
          if (handle.durable) {
            step.durable = handle.durable();
            if (step.durable < step.acks) throw new Error(`labnet: ${step.acks} ACKs but only ${step.durable} bindings in the journal`);
          }
          (lines[name] ??= []).push(
            `${rate}/s: ${step.achieved.toFixed(0)}/s done, ${step.dropPct.toFixed(2)}% dropped, ${step.cpuPer1000.toFixed(0)} ms CPU/1000${step.durable !== undefined ? `, ${step.durable} lease records on disk >= ${step.acks} ACKs` : ''}`,
          );
          rmSync(dir, { recursive: true, force: true });
          (cpu[name] ??= []).push(step.cpuPer1000);
          cpuAt[`${name}@${run}@${rate}`] = step.cpuPer1000!;
          if (step.dropPct >= 1) failed.add(name);
          else top[name] = Math.max(top[name] ?? 0, step.achieved);
        }
      }
      for (const name of SERVERS) {
        (best[name] ??= []).push(top[name] ?? 0);
        console.log(`run ${run} ${name.padEnd(8)} best ${(top[name] ?? 0).toFixed(0)}/s  [${(lines[name] ?? []).join('; ')}]`);
      }
    }
  } finally {
    await fx.destroy();
  }
  console.log('\nhighest rate of 4-way exchanges/s with < 1% drops (median of runs):');
  const med: Record<string, number> = {};
  for (const name of SERVERS) {
    med[name] = median(best[name] ?? []);
    console.log(`  ${name.padEnd(8)} ${med[name].toFixed(0)}/s   runs: ${(best[name] ?? []).map((x) => x.toFixed(0)).join(', ')}`);
  }
  // CPU per exchange falls as the rate rises (fixed costs spread out), so servers are compared on the
  // steps both ran: same run, same offered rate.
  const cpuRatio = (a: string, b: string): string => {
    const ratios: number[] = [];
    for (const key of Object.keys(cpuAt)) {
      const [name, run, rate] = key.split('@');
      const other = cpuAt[`${b}@${run}@${rate}`];
      if (name === a && other) ratios.push(cpuAt[key] / other);
    }
    return ratios.length ? `${median(ratios).toFixed(2)}x (median over ${ratios.length} steps both ran)` : 'n/a';
  };
  console.log('server CPU (user + system) per 1,000 completed exchanges, median over its steps:');
  for (const name of SERVERS) console.log(`  ${name.padEnd(8)} ${median(cpu[name] ?? []).toFixed(0)} ms`);
  if (med.labnet !== undefined) {
    for (const peer of SERVERS.filter((s) => s !== 'labnet')) {
      console.log(`  labnet / ${peer}: rate ${med[peer] ? (med.labnet / med[peer]).toFixed(2) : 'inf'}x, CPU per exchange ${cpuRatio('labnet', peer)}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
