// Real DHCP clients in the client namespace, each with private script, lease and pid files in the
// fixture's temp dir. Their scripts append one line per event to a file: "event=bound|ip=...|...".
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { NetnsFixture, waitFor, sleep, type ClientLink, type RunResult } from './netns-fixture.js';

export type ClientEvent = Record<string, string>;

export function readEvents(path: string): ClientEvent[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split('|').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

// ---- busybox udhcpc ----

export function udhcpcScript(fx: NetnsFixture, tag: string): { script: string; events: string } {
  const events = fx.path(`${tag}.events`);
  const script = fx.script(
    `${tag}.sh`,
    `echo "event=$1|ip=$ip|subnet=$subnet|router=$router|dns=$dns|domain=$domain|lease=$lease|serverid=$serverid|hostname=$hostname|message=$message" >> ${events}
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew) ip -4 addr flush dev "$interface"; ip addr add "$ip/$subnet" dev "$interface" ;;
esac
exit 0`,
  );
  return { script, events };
}

export interface UdhcpcOptions {
  tag: string;
  arpCheck?: boolean;
  requestIp?: string;
  extra?: string[];
  timeoutMs?: number;
}

/** One lease and exit (-q): resolves with the run and the script events. */
export async function udhcpcOnce(fx: NetnsFixture, link: ClientLink, o: UdhcpcOptions): Promise<{ run: RunResult; events: ClientEvent[] }> {
  const { script, events } = udhcpcScript(fx, o.tag);
  const args = ['busybox', 'udhcpc', '-i', link.name, '-s', script, '-f', '-q', '-n', '-t', '3', '-T', '2', '-A', '1'];
  if (o.arpCheck) args.push('-a');
  if (o.requestIp) args.push('-r', o.requestIp);
  args.push(...(o.extra ?? []));
  const run = await fx.run(fx.clientNs, args, o.timeoutMs ?? 30_000);
  return { run, events: readEvents(events) };
}

export interface UdhcpcDaemon {
  proc: ChildProcess;
  events(): ClientEvent[];
  waitEvent(event: string, count?: number, timeoutMs?: number): Promise<ClientEvent>;
  stop(): Promise<void>;
}

/** A long-running udhcpc: SIGUSR1 renews, SIGUSR2 releases (busybox udhcpc(8)). */
export async function udhcpcDaemon(fx: NetnsFixture, link: ClientLink, tag: string): Promise<UdhcpcDaemon> {
  const { script, events } = udhcpcScript(fx, tag);
  const proc = fx.spawnIn(fx.clientNs, ['busybox', 'udhcpc', '-i', link.name, '-s', script, '-f', '-t', '5', '-T', '2', '-A', '1'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    events: () => readEvents(events),
    async waitEvent(event, count = 1, timeoutMs = 20_000) {
      await waitFor(() => readEvents(events).filter((e) => e.event === event).length >= count, timeoutMs);
      const found = readEvents(events).filter((e) => e.event === event);
      if (found.length < count) throw new Error(`udhcpc ${tag}: no ${count}x "${event}" event; got ${JSON.stringify(readEvents(events))}`);
      return found[count - 1];
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    },
  };
}

// ---- ISC dhclient ----

export interface DhclientFiles {
  script: string;
  events: string;
  leases: string;
  pid: string;
}

export function dhclientFiles(fx: NetnsFixture, tag: string): DhclientFiles {
  const events = fx.path(`${tag}.events`);
  const script = fx.script(
    `${tag}.sh`,
    `echo "event=$reason|ip=$new_ip_address|subnet=$new_subnet_mask|router=$new_routers|dns=$new_domain_name_servers|domain=$new_domain_name|lease=$new_dhcp_lease_time|serverid=$new_dhcp_server_identifier" >> ${events}
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip -4 addr flush dev "$interface"; ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0`,
  );
  return { script, events, leases: fx.path(`${tag}.leases`), pid: fx.path(`${tag}.pid`) };
}

/** dhclient in the foreground (-d) until it reports BOUND (or REBOOT), then stopped; stderr has the exchange. */
export async function dhclientLease(
  fx: NetnsFixture,
  link: ClientLink,
  f: DhclientFiles,
  timeoutMs = 30_000,
  /** dhclient.conf(5) text to use instead of the system's /etc/dhcp/dhclient.conf. */
  conf?: string,
): Promise<{ event?: ClientEvent; stderr: string }> {
  const cf: string[] = [];
  if (conf !== undefined) {
    const path = `${f.leases}.conf`;
    writeFileSync(path, conf);
    cf.push('-cf', path);
  }
  const proc = fx.spawnIn(fx.clientNs, ['dhclient', '-d', '-1', '-v', '-sf', f.script, '-lf', f.leases, '-pf', f.pid, ...cf, link.name]);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const isLease = (e: ClientEvent): boolean => e.event === 'BOUND' || e.event === 'REBOOT';
  const before = readEvents(f.events).length;
  await waitFor(() => readEvents(f.events).slice(before).some(isLease) || proc.exitCode !== null, timeoutMs);
  // Give dhclient a moment to write its lease file before it is stopped.
  await sleep(300);
  if (proc.exitCode === null) proc.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  // This run's lease (the events file may hold an earlier run's too).
  return { event: readEvents(f.events).slice(before).find(isLease), stderr };
}

/** dhclient -r: sends a DHCPRELEASE for the lease in its lease file. */
export function dhclientRelease(fx: NetnsFixture, link: ClientLink, f: DhclientFiles): Promise<RunResult> {
  return fx.run(fx.clientNs, ['dhclient', '-r', '-v', '-sf', f.script, '-lf', f.leases, '-pf', f.pid, link.name], 20_000);
}

/** A dhclient lease file claiming `ip` (dhclient then starts in INIT-REBOOT and REQUESTs it). */
export function writeDhclientLease(f: DhclientFiles, ifname: string, ip: string, serverId: string): void {
  writeFileSync(
    f.leases,
    `lease {\n  interface "${ifname}";\n  fixed-address ${ip};\n  option subnet-mask 255.255.255.0;\n  option dhcp-lease-time 3600;\n  option dhcp-server-identifier ${serverId};\n` +
      `  renew 4 2037/01/01 00:00:00;\n  rebind 4 2037/01/01 00:00:00;\n  expire 4 2037/01/01 00:00:00;\n}\n`,
  );
}

// ---- dhcpcd ----

/** dhcpcd -1 (one lease, then exit) with our own config and script: no hooks, no resolv.conf. */
export async function dhcpcdOnce(fx: NetnsFixture, link: ClientLink, tag: string, timeoutMs = 40_000): Promise<{ run: RunResult; events: ClientEvent[] }> {
  const events = fx.path(`${tag}.events`);
  const script = fx.script(
    `${tag}.sh`,
    `echo "event=$reason|ip=$new_ip_address|subnet=$new_subnet_mask|router=$new_routers|dns=$new_domain_name_servers|domain=$new_domain_name|lease=$new_dhcp_lease_time|serverid=$new_dhcp_server_identifier" >> ${events}\nexit 0`,
  );
  const conf = fx.path(`${tag}.conf`);
  writeFileSync(
    conf,
    `noarp\nnoipv6\nnoipv6rs\nnoipv4ll\nnohook resolv.conf\nclientid\noption domain_name_servers, domain_name, routers, subnet_mask\nscript ${script}\n`,
  );
  const run = await fx.run(fx.clientNs, ['dhcpcd', '-f', conf, '-4', '-1', '-B', '-d', '-t', '20', link.name], timeoutMs);
  return { run, events: readEvents(events) };
}
