// Network namespaces for the DHCP tests and benchmark. A server namespace holds a bridge (the lab
// LAN, with the server's address) and each client link is a veth pair: one end in the bridge, the
// other in the client namespace. The real `labnet start --only dhcp` runs in the server namespace;
// real clients (udhcpc, dhclient, dhcpcd, perfdhcp) run in the client namespace with private script,
// lease and pid files, so nothing touches this machine's interfaces or /etc/resolv.conf.
// Names are unique per process and fixture; `destroy()` kills every process left in the namespaces
// (only ours can be there), deletes them (which removes the veths) and the temp dir. It also runs
// at process exit, so a failed or interrupted test leaves nothing behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI, parseReadyTable } from '../support/lab-process.js';

let counter = 0;
const live = new Set<NetnsFixture>();
process.on('exit', () => {
  for (const f of live) f.destroySync();
});

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function sh(args: string[], check = true): RunResult {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 20_000 });
  const out = { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (check && r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${out.stderr}${out.stdout}`);
  return out;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export interface ClientLink {
  /** Interface name in the client namespace. */
  name: string;
  /** Its peer in the server namespace's bridge. */
  peer: string;
  mac: string;
}

export interface DhcpLab {
  proc: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  ports: Record<string, number>;
  /** SIGTERM and wait (bounded); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Waits until the log contains a match (bounded). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
}

export class NetnsFixture {
  readonly id: string;
  readonly serverNs: string;
  readonly clientNs: string;
  /** The bridge in the server namespace: the lab interface labnet serves. */
  readonly bridge: string;
  readonly dir: string;
  private links: ClientLink[] = [];
  private procs = new Set<ChildProcess>();
  private destroyed = false;

  /** `prefix` like "10.61.0": the server gets .1/`prefixLength` (default 24) on the bridge. */
  constructor(
    readonly prefix: string,
    readonly prefixLength = 24,
  ) {
    counter++;
    this.id = `${process.pid.toString(36)}${counter.toString(36)}`;
    this.serverNs = `labnet-dhcp-s-${this.id}`;
    this.clientNs = `labnet-dhcp-c-${this.id}`;
    this.bridge = `lb${this.id}`.slice(0, 15);
    this.dir = mkdtempSync(join(tmpdir(), `labnet-dhcp-${this.id}-`));
    live.add(this);
    try {
      sh(['ip', 'netns', 'add', this.serverNs]);
      sh(['ip', 'netns', 'add', this.clientNs]);
      for (const ns of [this.serverNs, this.clientNs]) sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', this.serverNs, 'link', 'add', this.bridge, 'type', 'bridge']);
      // No STP delay: ports forward at once.
      sh(['ip', '-n', this.serverNs, 'link', 'set', this.bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
      sh(['ip', '-n', this.serverNs, 'addr', 'add', `${prefix}.1/${prefixLength}`, 'dev', this.bridge]);
      sh(['ip', '-n', this.serverNs, 'link', 'set', this.bridge, 'up']);
      // Several client links share one subnet: each answers ARP only for its own address.
      sh(['ip', 'netns', 'exec', this.clientNs, 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']);
    } catch (err) {
      this.destroySync();
      throw err;
    }
  }

  get serverIp(): string {
    return `${this.prefix}.1`;
  }

  /** A new veth pair: one end in the bridge, `name` in the client namespace (up, no address). */
  addLink(): ClientLink {
    const n = this.links.length;
    const name = `lc${this.id}${n}`.slice(0, 15);
    const peer = `lp${this.id}${n}`.slice(0, 15);
    sh(['ip', 'link', 'add', name, 'netns', this.clientNs, 'type', 'veth', 'peer', 'name', peer, 'netns', this.serverNs]);
    sh(['ip', '-n', this.serverNs, 'link', 'set', peer, 'master', this.bridge]);
    sh(['ip', '-n', this.serverNs, 'link', 'set', peer, 'up']);
    sh(['ip', '-n', this.clientNs, 'link', 'set', name, 'up']);
    const info = JSON.parse(sh(['ip', '-n', this.clientNs, '-j', 'link', 'show', name]).stdout) as { address: string }[];
    const mac = info[0].address;
    const link = { name, peer, mac };
    this.links.push(link);
    return link;
  }

  /**
   * A veth pair NOT in the bridge: another network the server machine is on (the school network),
   * with `serverAddress` on the server's end. DHCP must not answer there.
   */
  addOtherNetwork(serverAddress: string): ClientLink {
    const link = this.addLink();
    sh(['ip', '-n', this.serverNs, 'link', 'set', link.peer, 'nomaster']);
    sh(['ip', '-n', this.serverNs, 'addr', 'add', serverAddress, 'dev', link.peer]);
    return link;
  }

  /** Runs a command in a namespace to completion, bounded by timeoutMs (then SIGKILL). */
  run(ns: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
    return new Promise((resolve) => {
      const proc = this.spawnIn(ns, args);
      let stdout = '';
      let stderr = '';
      proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      proc.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /**
   * Starts a long-running command in a namespace (killed by destroy() at the latest). `wrap` is a
   * command prefix that execs what follows (e.g. `nsenter --mount=...`, see small-disk.ts).
   */
  spawnIn(ns: string, args: string[], options: { stdio?: 'pipe' | 'ignore'; wrap?: string[] } = {}): ChildProcess {
    // `ip netns exec` execs the command in place: the PID is the command's own.
    const argv = [...(options.wrap ?? []), 'ip', 'netns', 'exec', ns, ...args];
    const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', options.stdio ?? 'pipe', options.stdio ?? 'pipe'] });
    this.procs.add(proc);
    proc.on('exit', () => this.procs.delete(proc));
    return proc;
  }

  /** Writes a labnet config (merged over the packaged defaults by the CLI) and returns its path. */
  writeLabConfig(dhcp: Record<string, unknown>, name = 'labnet.yaml'): string {
    const path = join(this.dir, name);
    writeFileSync(
      path,
      stringify({ dataDir: join(this.dir, 'data'), limits: { shutdownGraceMs: 1000 }, services: { dhcp: { interface: this.bridge, probeMs: 500, ...dhcp } } }),
    );
    return path;
  }

  /** The real `labnet start --only dhcp` in the server namespace; resolves once it printed its ready table. */
  async startLab(configPath: string, options: { args?: string[]; ns?: string; logLevel?: string; timeoutMs?: number; wrap?: string[] } = {}): Promise<DhcpLab> {
    const args = [
      process.execPath,
      CLI,
      'start',
      '--only',
      'dhcp',
      '--config',
      configPath,
      '--log-level',
      options.logLevel ?? 'debug',
      ...(options.args ?? []),
    ];
    const proc = this.spawnIn(options.ns ?? this.serverNs, args, { wrap: options.wrap });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const ready = await waitFor(() => /labnet ready[^]*\n$/.test(out) || proc.exitCode !== null, options.timeoutMs ?? 20_000);
    if (!ready || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      await Promise.race([exited, sleep(5000)]);
      const e = new Error(`labnet did not become ready (exit ${proc.exitCode}).\nstdout:\n${out}\nstderr:\n${err}`) as Error & {
        stdout: string;
        stderr: string;
      };
      e.stdout = out;
      e.stderr = err;
      throw e;
    }
    return {
      proc,
      pid: proc.pid!,
      stdout: () => out,
      stderr: () => err,
      ports: parseReadyTable(out),
      async stop() {
        if (proc.exitCode !== null) return proc.exitCode;
        proc.kill('SIGTERM');
        const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
        if (code === 'timeout') {
          proc.kill('SIGKILL');
          return exited;
        }
        return code;
      },
      async kill() {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGKILL');
          await Promise.race([exited, sleep(10_000)]);
        }
      },
      async waitForLog(re, timeoutMs = 10_000) {
        await waitFor(() => re.test(out), timeoutMs);
        const m = re.exec(out);
        if (!m) throw new Error(`labnet log never matched ${re}:\n${out.slice(-3000)}`);
        return m[0];
      },
    };
  }

  /** Writes an executable shell script in the temp dir. */
  script(name: string, body: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async destroy(): Promise<void> {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await sleep(50);
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const ns of [this.clientNs, this.serverNs]) {
      // Daemons that forked (dhclient, dhcpcd) are still in our namespaces: kill them by PID.
      const pids = sh(['ip', 'netns', 'pids', ns], false).stdout.split(/\s+/).filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      sh(['ip', 'netns', 'del', ns], false);
    }
    for (const l of this.links) {
      // dhcpcd keeps its lease under /var/lib/dhcpcd/<interface>.lease (compiled-in path).
      for (const f of [`/var/lib/dhcpcd/${l.name}.lease`, `/var/lib/dhcpcd/${l.name}.lease6`]) if (existsSync(f)) rmSync(f, { force: true });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The `services.dhcp` section for a lab LAN `prefix` (like "10.61.0") served on `bridge`: the /24,
 * the pool `${prefix}.first` to `${prefix}.last`, the router at .1, and `more` (lease, probe, DNS...).
 */
export function lanDhcp<T extends object>(bridge: string, prefix: string, [first, last]: [number, number], more: T) {
  return { interface: bridge, subnet: `${prefix}.0/24`, range: [`${prefix}.${first}`, `${prefix}.${last}`], router: `${prefix}.1`, ...more };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 50 ms until it is true or timeoutMs passed; resolves with the last result. */
export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

export function namespaceExists(ns: string): boolean {
  return sh(['ip', 'netns', 'list'], false)
    .stdout.split('\n')
    .some((l) => l.split(' ')[0] === ns);
}
