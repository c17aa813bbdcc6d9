// Frames built by hand for what a real exchange in the test machine cannot produce (VLAN tags: the
// kernel here has no 8021q module; SACK blocks, retransmissions, bad checksums, odd options). Each
// builder writes the bytes the RFC lays out; checksums are computed unless a test sets one.
import { writeFileSync } from 'node:fs';
import { fold, sumWords } from '../../core/packet/checksum.js';
import { encodePcapng, type ExportFrame } from '../../core/packet/pcapng.js';

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

function mac(s: string): Buffer {
  return Buffer.from(s.replace(/:/g, ''), 'hex');
}

function ip4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

function ip6(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = s.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g, 16), i * 2));
  return b;
}

export function ethernet(
  payload: Buffer,
  o: { dst?: string; src?: string; type?: number; vlans?: Array<{ id: number; pcp?: number; dei?: boolean; tpid?: number }>; pad?: boolean } = {},
): Buffer {
  const parts: Buffer[] = [mac(o.dst ?? MAC_B), mac(o.src ?? MAC_A)];
  for (const v of o.vlans ?? []) {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(v.tpid ?? 0x8100, 0);
    tag.writeUInt16BE(((v.pcp ?? 0) << 13) | ((v.dei ? 1 : 0) << 12) | v.id, 2);
    parts.push(tag);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(o.type ?? 0x0800, 0);
  parts.push(type, payload);
  let frame = Buffer.concat(parts);
  if (o.pad !== false && frame.length < 60) frame = Buffer.concat([frame, Buffer.alloc(60 - frame.length)]);
  return frame;
}

export interface Ip4Options {
  src?: string;
  dst?: string;
  protocol: number;
  ttl?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  reservedBit?: boolean;
  /** In bytes (a multiple of 8). */
  fragmentOffset?: number;
  tos?: number;
  options?: Buffer;
  checksum?: number;
  totalLength?: number;
}

export function ipv4(payload: Buffer, o: Ip4Options): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  if (opts.length % 4 !== 0) throw new Error('IPv4 options must be a multiple of 4 bytes');
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | ((20 + opts.length) / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totalLength ?? h.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE((o.reservedBit ? 0x8000 : 0) | (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragmentOffset ?? 0) / 8), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol;
  ip4(o.src ?? '10.66.0.2').copy(h, 12);
  ip4(o.dst ?? '10.66.0.1').copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(o.checksum ?? ~fold(sumWords(h, 0, h.length)) & 0xffff, 10);
  return Buffer.concat([h, payload]);
}

export function ipv6(payload: Buffer, o: { src?: string; dst?: string; next: number; hopLimit?: number; tclass?: number; flow?: number }): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.tclass ?? 0) << 20) | (o.flow ?? 0)) >>> 0, 0);
  h.writeUInt16BE(payload.length, 4);
  h[6] = o.next;
  h[7] = o.hopLimit ?? 64;
  ip6(o.src ?? 'fd00:66::2').copy(h, 8);
  ip6(o.dst ?? 'fd00:66::1').copy(h, 24);
  return Buffer.concat([h, payload]);
}

/** The pseudo-header sum for a transport segment of `length` bytes between these addresses. */
function pseudo(src: string, dst: string, protocol: number, length: number): number {
  if (src.includes(':')) return sumWords(Buffer.concat([ip6(src), ip6(dst)]), 0, 32) + length + protocol;
  return sumWords(Buffer.concat([ip4(src), ip4(dst)]), 0, 8) + protocol + length;
}

export type ChecksumChoice = 'right' | 'offloaded' | number;

function setChecksum(seg: Buffer, at: number, choice: ChecksumChoice, p: number, udp = false): void {
  if (typeof choice === 'number') seg.writeUInt16BE(choice, at);
  else if (choice === 'offloaded') seg.writeUInt16BE(fold(p), at);
  else {
    let c = ~fold(sumWords(seg, 0, seg.length, p)) & 0xffff;
    if (udp && c === 0) c = 0xffff;
    seg.writeUInt16BE(c, at);
  }
}

export interface TcpOptions {
  src?: string;
  dst?: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: string;
  window?: number;
  options?: Buffer;
  urgent?: number;
  checksum?: ChecksumChoice;
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80, N: 0x100 };

export function tcp(payload: Buffer, o: TcpOptions): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  if (opts.length % 4 !== 0) throw new Error('TCP options must be a multiple of 4 bytes');
  const h = Buffer.alloc(20 + opts.length);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE(o.seq >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  let flags = 0;
  for (const c of o.flags) flags |= FLAG_BITS[c] ?? 0;
  h.writeUInt16BE((((20 + opts.length) / 4) << 12) | flags, 12);
  h.writeUInt16BE(o.window ?? 64240, 14);
  h.writeUInt16BE(o.urgent ?? 0, 18);
  opts.copy(h, 20);
  const seg = Buffer.concat([h, payload]);
  setChecksum(seg, 16, o.checksum ?? 'right', pseudo(o.src ?? '10.66.0.2', o.dst ?? '10.66.0.1', 6, seg.length));
  return seg;
}

export function udp(payload: Buffer, o: { src?: string; dst?: string; sport: number; dport: number; checksum?: ChecksumChoice; length?: number }): Buffer {
  const seg = Buffer.concat([Buffer.alloc(8), payload]);
  seg.writeUInt16BE(o.sport, 0);
  seg.writeUInt16BE(o.dport, 2);
  seg.writeUInt16BE(o.length ?? seg.length, 4);
  setChecksum(seg, 6, o.checksum ?? 'right', pseudo(o.src ?? '10.66.0.2', o.dst ?? '10.66.0.1', 17, seg.length), true);
  return seg;
}

export function icmp(type: number, code: number, rest: Buffer, o: { v6?: { src?: string; dst?: string }; checksum?: number } = {}): Buffer {
  const m = Buffer.concat([Buffer.from([type, code, 0, 0]), rest]);
  const p = o.v6 ? pseudo(o.v6.src ?? 'fd00:66::2', o.v6.dst ?? 'fd00:66::1', 58, m.length) : 0;
  m.writeUInt16BE(o.checksum ?? ~fold(sumWords(m, 0, m.length, p)) & 0xffff, 2);
  return m;
}

export function arp(o: { opcode: number; senderMac?: string; senderIp: string; targetMac?: string; targetIp: string }): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(0x0800, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(o.opcode, 6);
  mac(o.senderMac ?? MAC_A).copy(b, 8);
  ip4(o.senderIp).copy(b, 14);
  mac(o.targetMac ?? '00:00:00:00:00:00').copy(b, 18);
  ip4(o.targetIp).copy(b, 24);
  return b;
}

/** TCP option bytes: kind, length, value; pads with NOPs to a multiple of 4 when asked. */
export const tcpOpt = {
  mss: (v: number) => Buffer.from([2, 4, v >> 8, v & 0xff]),
  wscale: (shift: number) => Buffer.from([3, 3, shift]),
  sackPerm: () => Buffer.from([4, 2]),
  sack: (blocks: Array<[number, number]>) => {
    const b = Buffer.alloc(2 + 8 * blocks.length);
    b[0] = 5;
    b[1] = b.length;
    blocks.forEach(([l, r], i) => {
      b.writeUInt32BE(l >>> 0, 2 + 8 * i);
      b.writeUInt32BE(r >>> 0, 6 + 8 * i);
    });
    return b;
  },
  ts: (val: number, ecr: number) => {
    const b = Buffer.alloc(10);
    b[0] = 8;
    b[1] = 10;
    b.writeUInt32BE(val >>> 0, 2);
    b.writeUInt32BE(ecr >>> 0, 6);
    return b;
  },
  nop: () => Buffer.from([1]),
  eol: () => Buffer.from([0]),
};

export function pad4(parts: Buffer[]): Buffer {
  const b = Buffer.concat(parts);
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

export interface CraftedFrame {
  data: Buffer;
  /** Bytes on the wire when the capture kept fewer (truncation). */
  originalLength?: number;
  timeUs?: number;
}

/** Writes frames to a pcapng file (Ethernet link type unless told). */
export function writeCapture(path: string, frames: CraftedFrame[], linkType = 1): void {
  let t = 1_700_000_000_000_000;
  const out: ExportFrame[] = frames.map((f) => {
    t = f.timeUs ?? t + 1000;
    return { timeUs: t, data: f.data, originalLength: f.originalLength ?? f.data.length };
  });
  writeFileSync(path, encodePcapng(out, { linkType, snapLength: 262144 }));
}
