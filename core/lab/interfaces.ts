// The machine's network interfaces for the overview, as the course shows them with psutil and the
// MAC address: name, MAC, IPv4/IPv6 addresses with prefixes (os.networkInterfaces), MTU, link state
// and the kernel's per-interface counters, with rates from one sample to the next.
//
// The counters come from /proc/net/dev, one file for every interface (what psutil's
// net_io_counters(pernic=True) reads too), once a second. The attributes that rarely change (MAC, MTU,
// link state, carrier, speed) come from /sys/class/net/IF and are read again every ATTRIBUTES_MS, or at
// once for an interface not seen before: an idle lab opens a file or two a second, not five per
// interface plus eight counters each (about fifty). Both live in memory and answer at once, so they
// are read synchronously: a promise-based read costs four thread pool round trips per file.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { InterfaceCounters, InterfaceRow } from './wire.js';

const SYS = '/sys/class/net';
const PROC_NET_DEV = '/proc/net/dev';
/** Interfaces shown at most (a machine with hundreds of veths still costs a bounded sample). */
const MAX_INTERFACES = 32;
/** /proc/net/dev read at most this far (about 200 octets a line: far more than MAX_INTERFACES lines). */
const MAX_PROC_BYTES = 1 << 20;
/** MAC, MTU and link state are read again this often (a cable pulled shows within this time). */
export const ATTRIBUTES_MS = 5000;

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

export interface DevCounters {
  rx: InterfaceCounters;
  tx: InterfaceCounters;
}

/**
 * Parses /proc/net/dev: two header lines, then one line per interface, "name: " and sixteen numbers
 * (receive bytes, packets, errs, drop, fifo, frame, compressed, multicast; transmit bytes, packets,
 * errs, drop, fifo, colls, carrier, compressed). Lines that do not have that shape are skipped; at
 * most `max` interfaces, in the file's order.
 */
export function parseNetDev(text: string, max = MAX_INTERFACES): Map<string, DevCounters> {
  const out = new Map<string, DevCounters>();
  let start = 0;
  while (start < text.length && out.size < max) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    // Interface names are at most 15 octets (IFNAMSIZ) and never hold a space or a slash.
    if (name.length === 0 || name.length > 15 || /[\s/|]/.test(name)) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (f.length < 16) continue;
    const n = f.slice(0, 16).map(Number);
    if (!n.every((x) => Number.isSafeInteger(x) && x >= 0)) continue;
    out.set(name, {
      rx: { bytes: n[0], packets: n[1], errors: n[2], drops: n[3] },
      tx: { bytes: n[8], packets: n[9], errors: n[10], drops: n[11] },
    });
  }
  return out;
}

export interface Attributes {
  at: number;
  mac: string | undefined;
  mtu: number | undefined;
  state: string | undefined;
  carrier: number | undefined;
  speed: number | undefined;
}

function readAttributes(name: string, now: number): Attributes {
  const dir = `${SYS}/${name}`;
  return {
    at: now,
    mac: readText(`${dir}/address`),
    mtu: readNumber(`${dir}/mtu`),
    state: readText(`${dir}/operstate`),
    // carrier and speed refuse to be read (EINVAL) while an interface is down: then unknown.
    carrier: readNumber(`${dir}/carrier`),
    speed: readNumber(`${dir}/speed`),
  };
}

/** The counters of each interface, from /proc/net/dev; undefined when it cannot be read. */
function readCounters(): Map<string, DevCounters> | undefined {
  let text: string;
  try {
    const buf = readFileSync(PROC_NET_DEV);
    text = buf.subarray(0, MAX_PROC_BYTES).toString('latin1');
  } catch {
    return undefined;
  }
  return parseNetDev(text);
}

const ZERO: InterfaceCounters = { bytes: 0, packets: 0, errors: 0, drops: 0 };

/** Samples the interfaces; rates are per second since `previous` (same names), zero the first time. */
export class InterfaceSampler {
  private previous = new Map<string, { t: number; rx: InterfaceCounters; tx: InterfaceCounters }>();
  private attributes = new Map<string, Attributes>();

  /** The readers are the kernel's files unless a test gives its own. */
  constructor(
    private readonly readDev: () => Map<string, DevCounters> | undefined = readCounters,
    private readonly readAttrs: (name: string, now: number) => Attributes = readAttributes,
  ) {}

  sample(now = Date.now()): InterfaceRow[] {
    const addrs = networkInterfaces();
    const counters = this.readDev();
    const names = [...(counters?.keys() ?? Object.keys(addrs))]
      .sort((a, b) => (a === 'lo' ? -1 : b === 'lo' ? 1 : a.localeCompare(b)))
      .slice(0, MAX_INTERFACES);
    const attributes = new Map<string, Attributes>();
    const rows = names.map((name): InterfaceRow => {
      let a = this.attributes.get(name);
      if (a === undefined || now - a.at >= ATTRIBUTES_MS || now < a.at) a = this.readAttrs(name, now);
      attributes.set(name, a);
      const { rx, tx } = counters?.get(name) ?? { rx: ZERO, tx: ZERO };
      const list = addrs[name] ?? [];
      const prev = this.previous.get(name);
      const dt = prev ? (now - prev.t) / 1000 : 0;
      const rate = (x: number, y: number | undefined): number => (dt > 0 && y !== undefined && x >= y ? Math.round((x - y) / dt) : 0);
      return {
        name,
        mac: a.mac ?? list[0]?.mac ?? '',
        mtu: a.mtu ?? 0,
        state: a.state ?? 'unknown',
        ...(a.carrier !== undefined ? { carrier: a.carrier === 1 } : {}),
        ...(a.speed !== undefined && a.speed > 0 ? { speed: a.speed } : {}),
        addresses: list.map((x) => ({
          family: x.family === 'IPv6' ? ('IPv6' as const) : ('IPv4' as const),
          address: x.address,
          prefix: Number((x.cidr ?? '/0').split('/')[1] ?? 0),
        })),
        rx,
        tx,
        rxRate: { bytes: rate(rx.bytes, prev?.rx.bytes), packets: rate(rx.packets, prev?.rx.packets) },
        txRate: { bytes: rate(tx.bytes, prev?.tx.bytes), packets: rate(tx.packets, prev?.tx.packets) },
      };
    });
    // Interfaces that went away are forgotten with their attributes.
    this.attributes = attributes;
    this.previous = new Map(rows.map((r) => [r.name, { t: now, rx: r.rx, tx: r.tx }]));
    return rows;
  }
}
