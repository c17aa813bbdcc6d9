// One lab zone described once, served two ways: by labnet's DNS (a config) and by dnsmasq in
// authoritative mode (its command line), so the comparison test and `make bench BENCH=dns` ask both
// servers the same questions about the same records.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

export interface ZoneSpec {
  domain: string;
  hostname: string;
  v4: string;
  v6: string;
  /** The reverse zones: an IPv4 /24 holding v4 and an IPv6 /64 holding v6. */
  reverse: string;
  reverse6: string;
  ttl: number;
  /** Port of each mail SRV owner ('_imap._tcp'...); absent: not running. */
  srv: Record<string, number>;
}

export const SPEC_DEFAULTS = {
  domain: 'lab.test',
  hostname: 'labnet.lab.test',
  v4: '192.0.2.10',
  v6: '2001:db8::10',
  reverse: '192.0.2.0/24',
  reverse6: '2001:db8::/64',
  ttl: 60,
} as const;

/** services.dns for labnet serving the spec (no rate limit: the benchmark and tests send floods). */
export function labnetDnsConfig(spec: ZoneSpec, port: number): Record<string, unknown> {
  return {
    port,
    hostAddresses: [spec.v4, spec.v6],
    reverseSubnets: [spec.reverse, spec.reverse6],
    ttl: spec.ttl,
    // dnsmasq's SOA minimum is its --auth-ttl: the same here, so the two SOAs compare equal.
    negativeTtl: spec.ttl,
    rateLimitPerSecond: 0,
  };
}

export const MAIL_SRV_OWNERS = ['_submission._tcp', '_submissions._tcp', '_imap._tcp', '_imaps._tcp', '_pop3._tcp', '_pop3s._tcp'] as const;

/** The labnet listener each SRV owner names (service/listener in the ready table). */
const SRV_LISTENERS: Record<(typeof MAIL_SRV_OWNERS)[number], [string, string]> = {
  '_submission._tcp': ['smtp', 'submission'],
  '_submissions._tcp': ['smtp', 'smtps'],
  '_imap._tcp': ['imap', 'imap'],
  '_imaps._tcp': ['imap', 'imaps'],
  '_pop3._tcp': ['pop3', 'pop3'],
  '_pop3s._tcp': ['pop3', 'pop3s'],
};

/** The default spec with the mail ports a running labnet process has (listeners it lacks: not running). */
export function specFromLab(ports: Record<string, number>): ZoneSpec {
  const srv: Record<string, number> = {};
  for (const owner of MAIL_SRV_OWNERS) {
    const port = ports[SRV_LISTENERS[owner].join('/')];
    if (port !== undefined) srv[owner] = port;
  }
  return { ...SPEC_DEFAULTS, srv };
}

/**
 * dnsmasq (2.90) answering authoritatively (--auth-server, --auth-zone) for the same zone on
 * address:port, reading no config file, hosts file or upstream servers.
 */
export function dnsmasqArgs(spec: ZoneSpec, address: string, port: number): string[] {
  const d = spec.domain;
  const names = [spec.hostname, d, `mail.${d}`, `www.${d}`, `autoconfig.${d}`, `autodiscover.${d}`];
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-hosts',
    '--no-resolv',
    '--no-negcache',
    '--pid-file=',
    '--log-facility=/dev/null',
    '--user=root',
    `--port=${port}`,
    `--listen-address=${address}`,
    '--bind-interfaces',
    `--auth-server=${spec.hostname},${address}`,
    `--auth-zone=${d},${spec.reverse},${spec.reverse6}`,
    `--auth-soa=1,hostmaster.${d},3600,600,86400`,
    `--auth-ttl=${spec.ttl}`,
    `--local-ttl=${spec.ttl}`,
    `--host-record=${names.join(',')},${spec.v4},${spec.v6},${spec.ttl}`,
    `--mx-host=${d},${spec.hostname},10`,
  ];
  for (const owner of MAIL_SRV_OWNERS) {
    const p = spec.srv[owner];
    args.push(p === undefined ? `--srv-host=${owner}.${d}` : `--srv-host=${owner}.${d},${spec.hostname},${p},0,1`);
  }
  return args;
}

export interface Dnsmasq {
  proc: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/** Starts dnsmasq and waits until it answers a query. */
export async function startDnsmasq(spec: ZoneSpec, address: string, port: number): Promise<Dnsmasq> {
  const proc = spawn('dnsmasq', dnsmasqArgs(spec, address, port), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const ready = await answers(address, port, 5000, () => proc.exitCode !== null);
  if (!ready) {
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`dnsmasq did not answer on ${address}:${port}: ${err}`);
  }
  return {
    proc,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls with a tiny query until the server answers (bounded). */
export async function answers(address: string, port: number, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<boolean> {
  const query = Buffer.from('abcd01000001000000000000036c61620474657374000006' + '0001', 'hex');
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !gaveUp()) {
    const got = await new Promise<boolean>((resolve) => {
      const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
      const timer = setTimeout(() => {
        s.close();
        resolve(false);
      }, 200);
      s.on('message', () => {
        clearTimeout(timer);
        s.close();
        resolve(true);
      });
      s.on('error', () => {});
      s.send(query, port, address);
    });
    if (got) return true;
  }
  return false;
}
