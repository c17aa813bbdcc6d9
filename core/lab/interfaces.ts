// The machine's network interfaces for the overview, as the course shows them with psutil and the
// MAC address: name, MAC, IPv4/IPv6 addresses with prefixes (os.networkInterfaces), MTU, link state
// and the kernel's per-interface counters (/sys/class/net/IF/statistics, what psutil's
// net_io_counters(pernic=True) reads too), with rates from one sample to the next.
import { readdir, readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { InterfaceCounters, InterfaceRow } from './wire.js';

const SYS = '/sys/class/net';
/** Interfaces shown at most (a machine with hundreds of veths still costs a bounded sample). */
const MAX_INTERFACES = 32;

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  const s = await readText(path);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

async function counters(name: string, dir: 'rx' | 'tx'): Promise<InterfaceCounters> {
  const base = `${SYS}/${name}/statistics/${dir}_`;
  const [bytes, packets, errors, drops] = await Promise.all(['bytes', 'packets', 'errors', 'dropped'].map((k) => readNumber(base + k)));
  return { bytes: bytes ?? 0, packets: packets ?? 0, errors: errors ?? 0, drops: drops ?? 0 };
}

/** Samples the interfaces; rates are per second since `previous` (same names), zero the first time. */
export class InterfaceSampler {
  private previous = new Map<string, { t: number; rx: InterfaceCounters; tx: InterfaceCounters }>();

  async sample(now = Date.now()): Promise<InterfaceRow[]> {
    let names: string[];
    try {
      names = (await readdir(SYS)).sort((a, b) => (a === 'lo' ? -1 : b === 'lo' ? 1 : a.localeCompare(b))).slice(0, MAX_INTERFACES);
    } catch {
      names = Object.keys(networkInterfaces()).slice(0, MAX_INTERFACES);
    }
    const addrs = networkInterfaces();
    const rows = await Promise.all(
      names.map(async (name): Promise<InterfaceRow> => {
        const dir = `${SYS}/${name}`;
        const [mac, mtu, state, carrier, speed, rx, tx] = await Promise.all([
          readText(`${dir}/address`),
          readNumber(`${dir}/mtu`),
          readText(`${dir}/operstate`),
          readNumber(`${dir}/carrier`),
          readNumber(`${dir}/speed`),
          counters(name, 'rx'),
          counters(name, 'tx'),
        ]);
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
      }),
    );
    this.previous = new Map(rows.map((r) => [r.name, { t: now, rx: r.rx, tx: r.tx }]));
    return rows;
  }
}
