// The machine's network interfaces for the overview, as the course shows them with psutil and the
// MAC address: name, MAC, IPv4/IPv6 addresses with prefixes (os.networkInterfaces), MTU, link state
// and the kernel's per-interface counters (/sys/class/net/IF/statistics, what psutil's
// net_io_counters(pernic=True) reads too), with rates from one sample to the next. sysfs files live in
// memory and answer at once, so they are read synchronously: a promise-based read costs four thread
// pool round trips per file (open, stat, read, close), about fifty times a second, for nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { InterfaceCounters, InterfaceRow } from './wire.js';

const SYS = '/sys/class/net';
/** Interfaces shown at most (a machine with hundreds of veths still costs a bounded sample). */
const MAX_INTERFACES = 32;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readNumber(path: string): number | undefined {
  const s = readText(path);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function counters(name: string, dir: 'rx' | 'tx'): InterfaceCounters {
  const base = `${SYS}/${name}/statistics/${dir}_`;
  const [bytes, packets, errors, drops] = ['bytes', 'packets', 'errors', 'dropped'].map((k) => readNumber(base + k));
  return { bytes: bytes ?? 0, packets: packets ?? 0, errors: errors ?? 0, drops: drops ?? 0 };
}

/** Samples the interfaces; rates are per second since `previous` (same names), zero the first time. */
export class InterfaceSampler {
  private previous = new Map<string, { t: number; rx: InterfaceCounters; tx: InterfaceCounters }>();

  sample(now = Date.now()): InterfaceRow[] {
    let names: string[];
    try {
      names = readdirSync(SYS)
        .sort((a, b) => (a === 'lo' ? -1 : b === 'lo' ? 1 : a.localeCompare(b)))
        .slice(0, MAX_INTERFACES);
    } catch {
      names = Object.keys(networkInterfaces()).slice(0, MAX_INTERFACES);
    }
    const addrs = networkInterfaces();
    const rows = names.map((name): InterfaceRow => {
      const dir = `${SYS}/${name}`;
      const mac = readText(`${dir}/address`);
      const mtu = readNumber(`${dir}/mtu`);
      const state = readText(`${dir}/operstate`);
      // carrier and speed refuse to be read (EINVAL) while an interface is down: then unknown.
      const carrier = readNumber(`${dir}/carrier`);
      const speed = readNumber(`${dir}/speed`);
      const rx = counters(name, 'rx');
      const tx = counters(name, 'tx');
      const list = addrs[name] ?? [];
      const prev = this.previous.get(name);
      const dt = prev ? (now - prev.t) / 1000 : 0;
      const rate = (a: number, b: number | undefined): number => (dt > 0 && b !== undefined && a >= b ? Math.round((a - b) / dt) : 0);
      return {
        name,
        mac: mac ?? list[0]?.mac ?? '',
        mtu: mtu ?? 0,
        state: state ?? 'unknown',
        ...(carrier !== undefined ? { carrier: carrier === 1 } : {}),
        ...(speed !== undefined && speed > 0 ? { speed } : {}),
        addresses: list.map((a) => ({
          family: a.family === 'IPv6' ? ('IPv6' as const) : ('IPv4' as const),
          address: a.address,
          prefix: Number((a.cidr ?? '/0').split('/')[1] ?? 0),
        })),
        rx,
        tx,
        rxRate: { bytes: rate(rx.bytes, prev?.rx.bytes), packets: rate(rx.packets, prev?.rx.packets) },
        txRate: { bytes: rate(tx.bytes, prev?.tx.bytes), packets: rate(tx.packets, prev?.tx.packets) },
      };
    });
    this.previous = new Map(rows.map((r) => [r.name, { t: now, rx: r.rx, tx: r.tx }]));
    return rows;
  }
}
