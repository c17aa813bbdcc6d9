// The quick look every captured frame gets on arrival: addresses, ports, TCP numbers and flags, the
// DHCP transaction and client, the ARP question, the TLS client random. Enough to put the frame in its
// flow, follow its TCP connection and link it to a labnet session; the full field-by-field decoding
// (decode-frame.ts) runs only when someone opens the frame. The offsets come from the same field
// tables the full decoder uses.
import { arpInfo, type ArpInfo } from './arp.js';
import { ETHERNET, ETHERNET_HEADER, VLAN, VLAN_TAG } from './ethernet.js';
import { formatIpv4, formatIpv6, formatMac, hexOf, readUint, type FieldSpec } from './field-table.js';
import { ICMP } from './icmp.js';
import { IPV4 } from './ipv4.js';
import { IPV6, IPV6_HEADER } from './ipv6.js';
import { LINKTYPE } from './decode-frame.js';
import { dhcpInfo, looksLikeTls, type DhcpInfo } from './payload.js';
import { TCP, tcpOptions, TCP_MIN_HEADER, type TcpOptionsInfo } from './tcp.js';
import { UDP, UDP_HEADER } from './udp.js';

/**
 * A field of the tables reduced to the numbers the quick look needs, all of one shape: the full
 * decoder reads dozens of differently shaped specs through `readField`, which makes its property
 * reads megamorphic; the quick look, run on every captured frame, reads these instead.
 */
class QuickField {
  private constructor(
    readonly offset: number,
    readonly length: number,
    readonly mask: number,
    readonly shift: number,
  ) {}

  static of(spec: FieldSpec): QuickField {
    const mask = spec.mask ?? 0;
    return new QuickField(spec.offset, spec.length, mask, mask === 0 ? 0 : 31 - Math.clz32(mask & -mask));
  }
}

function quick(f: QuickField, b: Uint8Array, base: number): number {
  const v = readUint(b, base + f.offset, f.length);
  return f.mask === 0 ? v : (v & f.mask) >>> f.shift;
}

const Q_IPV4_VERSION = QuickField.of(IPV4.version);
const Q_IPV4_HDRLEN = QuickField.of(IPV4.hdrLen);
const Q_IPV4_LEN = QuickField.of(IPV4.len);
const Q_IPV4_PROTO = QuickField.of(IPV4.proto);
const Q_IPV4_ID = QuickField.of(IPV4.id);
const Q_IPV4_FRAGOFFSET = QuickField.of(IPV4.fragOffset);
const Q_IPV4_FLAGS_CHILDREN_2 = QuickField.of(IPV4.flags.children[2]);
const Q_IPV6_NXT = QuickField.of(IPV6.nxt);
const Q_IPV6_PLEN = QuickField.of(IPV6.plen);
const Q_ETHERNET_TYPE = QuickField.of(ETHERNET.type);
const Q_VLAN_ID = QuickField.of(VLAN.id);
const Q_VLAN_ETYPE = QuickField.of(VLAN.etype);
const Q_TCP_HDRLEN = QuickField.of(TCP.hdrLen);
const Q_TCP_SRCPORT = QuickField.of(TCP.srcport);
const Q_TCP_DSTPORT = QuickField.of(TCP.dstport);
const Q_TCP_SEQ = QuickField.of(TCP.seq);
const Q_TCP_ACK = QuickField.of(TCP.ack);
const Q_TCP_FLAGS = QuickField.of(TCP.flags);
const Q_TCP_WINDOW = QuickField.of(TCP.window);
const Q_UDP_SRCPORT = QuickField.of(UDP.srcport);
const Q_UDP_DSTPORT = QuickField.of(UDP.dstport);
const Q_UDP_LENGTH = QuickField.of(UDP.length);
const Q_ICMP_IDENT = QuickField.of(ICMP.ident);
const Q_ICMP_SEQ = QuickField.of(ICMP.seq);

/** The SYN bit of TCP's flags. */
const SYN_FLAG = 0x02;

export interface IpIndex {
  version: 4 | 6;
  src: string;
  dst: string;
  /** IPv4 source and destination as unsigned numbers (flows are looked up by them); -1 for IPv6. */
  srcNum: number;
  dstNum: number;
  protocol: number;
  /** IPv4 identification, fragment offset in bytes and the MF flag. */
  ipId: number;
  fragmentOffset: number;
  moreFragments: boolean;
}

export interface TcpIndex {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** Data bytes in the segment (per the IP length, whether captured or not). */
  dataLength: number;
  options?: TcpOptionsInfo;
}

export interface IcmpIndex {
  version: 4 | 6;
  type: number;
  code: number;
  echo?: { ident: number; seq: number };
  /** For errors: the datagram quoted (whose flow the error is about). */
  quoted?: { src: string; dst: string; protocol: number; srcPort?: number; dstPort?: number };
}

/**
 * The quick look at one frame: one object per frame (it is kept as long as the frame, so every
 * allocation counts), which is its own IP and TCP view (`ip`, `tcp`) when it has those headers.
 */
export class FrameIndex implements IpIndex, TcpIndex {
  /** EtherType after any VLAN tags; -1 when the frame is not Ethernet or raw IP. */
  etherType = -1;
  vlan: number | undefined = undefined;
  /** Only for frames that are neither IP nor ARP (their flow is keyed by them). */
  srcMac: string | undefined = undefined;
  dstMac: string | undefined = undefined;
  // IpIndex (when version is 4 or 6)
  version: 4 | 6 = 4;
  hasIp = false;
  src = '';
  dst = '';
  srcNum = -1;
  dstNum = -1;
  protocol = -1;
  ipId = 0;
  fragmentOffset = 0;
  moreFragments = false;
  srcPort: number | undefined = undefined;
  dstPort: number | undefined = undefined;
  // TcpIndex (when hasTcp)
  hasTcp = false;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  dataLength = 0;
  options: TcpOptionsInfo | undefined = undefined;
  icmp: IcmpIndex | undefined = undefined;
  arp: ArpInfo | undefined = undefined;
  dhcp: DhcpInfo | undefined = undefined;
  /** Hex of the TLS ClientHello's random (the key log is looked up by it). */
  clientRandom: string | undefined = undefined;
  /** Where the application data starts and how much of it was on the wire. */
  payloadOffset: number | undefined = undefined;
  payloadLength: number | undefined = undefined;

  get ip(): IpIndex | undefined {
    return this.hasIp ? this : undefined;
  }

  get tcp(): TcpIndex | undefined {
    return this.hasTcp ? this : undefined;
  }
}

/** Address strings by value: a lab has few addresses, so each is formatted (and allocated) once. */
const ADDRESSES = new Map<number, string>();
const MAX_ADDRESSES = 4096;
/** The last addresses looked up, direct-mapped by value (most frames repeat the last few). */
const RECENT = 64;
const recentKey = new Float64Array(RECENT).fill(-1);
const recentText = new Array<string>(RECENT).fill('');

function ipv4Number(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** The text of the IPv4 address `n` (read at `b[at..at+4)`). */
function ipv4Text(n: number, b: Uint8Array, at: number): string {
  const r = (n ^ (n >>> 8) ^ (n >>> 16)) & (RECENT - 1);
  if (recentKey[r] === n) return recentText[r];
  let s = ADDRESSES.get(n);
  if (s === undefined) {
    if (ADDRESSES.size >= MAX_ADDRESSES) ADDRESSES.clear();
    s = formatIpv4(b, at);
    ADDRESSES.set(n, s);
  }
  recentKey[r] = n;
  recentText[r] = s;
  return s;
}

/** Reads a TLS ClientHello's random from a TCP payload that starts with the handshake record. */
export function clientHelloRandom(b: Uint8Array, at: number, end: number): string | undefined {
  // record: type 22, version, length; handshake: type 1, length (3); client_version (2); random (32)
  if (end - at < 5 + 4 + 2 + 32 || !looksLikeTls(b, at, end) || b[at] !== 22 || b[at + 5] !== 1) return undefined;
  return hexOf(b, at + 11, at + 43);
}

/** Where the last `readIp` found its datagram's payload to end (a module slot: no object per frame). */
let ipPayloadEnd = 0;

/** Reads an IP header at `at` into `ip`; returns where its payload starts (its end in `ipPayloadEnd`), or -1. */
function readIp(b: Uint8Array, at: number, end: number, etherType: number, ip: IpIndex): number {
  if (etherType === 0x0800) {
    if (end - at < 20 || quick(Q_IPV4_VERSION, b, at) !== 4) return -1;
    const hl = quick(Q_IPV4_HDRLEN, b, at) * 4;
    if (hl < 20) return -1;
    const total = quick(Q_IPV4_LEN, b, at);
    ip.version = 4;
    ip.srcNum = ipv4Number(b, at + IPV4.src.offset);
    ip.dstNum = ipv4Number(b, at + IPV4.dst.offset);
    ip.src = ipv4Text(ip.srcNum, b, at + IPV4.src.offset);
    ip.dst = ipv4Text(ip.dstNum, b, at + IPV4.dst.offset);
    ip.protocol = quick(Q_IPV4_PROTO, b, at);
    ip.ipId = quick(Q_IPV4_ID, b, at);
    ip.fragmentOffset = quick(Q_IPV4_FRAGOFFSET, b, at) * 8;
    ip.moreFragments = quick(Q_IPV4_FLAGS_CHILDREN_2, b, at) === 1;
    ipPayloadEnd = at + Math.max(total, hl);
    return at + hl;
  }
  if (etherType === 0x86dd) {
    if (end - at < IPV6_HEADER) return -1;
    ip.version = 6;
    ip.src = formatIpv6(b, at + IPV6.src.offset);
    ip.dst = formatIpv6(b, at + IPV6.dst.offset);
    ip.srcNum = -1;
    ip.dstNum = -1;
    ip.protocol = quick(Q_IPV6_NXT, b, at);
    ip.ipId = 0;
    ip.fragmentOffset = 0;
    ip.moreFragments = false;
    ipPayloadEnd = at + IPV6_HEADER + quick(Q_IPV6_PLEN, b, at);
    return at + IPV6_HEADER;
  }
  return -1;
}

/**
 * The quick look at one frame, written into `out` (a fresh index by default). The frame is
 * `b[start..end)` (the whole of `b` by default: a frame store passes its chunk and the frame's place in
 * it, so no view is made per frame); `payloadOffset` counts from `start`. TCP options are read only
 * from SYNs (the window scale is all the analysis needs; the full decoder reads them all). Never throws
 * on any input.
 */
export function indexFrame<T extends FrameIndex>(b: Uint8Array, linkType: number, out: T = new FrameIndex() as T, start = 0, end = b.length): T {
  let at = start;
  if (linkType === LINKTYPE.ETHERNET) {
    if (end - start < ETHERNET_HEADER) return out;
    out.etherType = quick(Q_ETHERNET_TYPE, b, start);
    at = start + ETHERNET_HEADER;
    for (let tags = 0; (out.etherType === 0x8100 || out.etherType === 0x88a8) && tags < 4; tags++) {
      if (end - at < VLAN_TAG) return out;
      out.vlan = quick(Q_VLAN_ID, b, at);
      out.etherType = quick(Q_VLAN_ETYPE, b, at);
      at += VLAN_TAG;
    }
    if (out.etherType !== 0x0800 && out.etherType !== 0x86dd && out.etherType !== 0x0806) {
      out.dstMac = formatMac(b, start + ETHERNET.dst.offset);
      out.srcMac = formatMac(b, start + ETHERNET.src.offset);
    }
  } else if (linkType === LINKTYPE.RAW || linkType === LINKTYPE.IPV4 || linkType === LINKTYPE.IPV6) {
    if (end - start < 1) return out;
    out.etherType = b[start] >> 4 === 6 ? 0x86dd : 0x0800;
  } else return out;

  if (out.etherType === 0x0806) {
    const arp = arpInfo(b, at, end);
    if (arp) out.arp = arp;
    return out;
  }
  const t = readIp(b, at, end, out.etherType, out);
  if (t < 0) return out;
  const payloadEnd = ipPayloadEnd;
  out.hasIp = true;
  if (out.fragmentOffset > 0) return out; // the middle of a datagram: no transport header here
  const tEnd = Math.min(end, payloadEnd);
  if (out.protocol === 6 && tEnd - t >= TCP_MIN_HEADER) {
    const hl = quick(Q_TCP_HDRLEN, b, t) * 4;
    out.srcPort = quick(Q_TCP_SRCPORT, b, t);
    out.dstPort = quick(Q_TCP_DSTPORT, b, t);
    out.hasTcp = true;
    out.seq = quick(Q_TCP_SEQ, b, t);
    out.ack = quick(Q_TCP_ACK, b, t);
    out.flags = quick(Q_TCP_FLAGS, b, t);
    out.window = quick(Q_TCP_WINDOW, b, t);
    out.dataLength = Math.max(0, payloadEnd - t - Math.max(hl, TCP_MIN_HEADER));
    if ((out.flags & SYN_FLAG) !== 0 && hl > TCP_MIN_HEADER && t + hl <= tEnd) out.options = tcpOptions(b, t + TCP_MIN_HEADER, t + hl);
    out.payloadOffset = t + hl - start;
    out.payloadLength = out.dataLength;
    if (out.dataLength > 0) {
      const random = clientHelloRandom(b, t + hl, tEnd);
      if (random) out.clientRandom = random;
    }
  } else if (out.protocol === 17 && tEnd - t >= UDP_HEADER) {
    out.srcPort = quick(Q_UDP_SRCPORT, b, t);
    out.dstPort = quick(Q_UDP_DSTPORT, b, t);
    out.payloadOffset = t + UDP_HEADER - start;
    out.payloadLength = Math.max(0, Math.min(quick(Q_UDP_LENGTH, b, t), payloadEnd - t) - UDP_HEADER);
    if ((out.srcPort === 67 || out.srcPort === 68) && (out.dstPort === 67 || out.dstPort === 68)) {
      const d = dhcpInfo(b, t + UDP_HEADER, tEnd);
      if (d) out.dhcp = d;
    }
  } else if ((out.protocol === 1 || out.protocol === 58) && tEnd - t >= 4) {
    const icmp: IcmpIndex = { version: out.version, type: b[t + ICMP.type.offset], code: b[t + ICMP.code.offset] };
    const echo = out.version === 4 ? icmp.type === 0 || icmp.type === 8 : icmp.type === 128 || icmp.type === 129;
    const error = out.version === 4 ? [3, 4, 5, 11, 12].includes(icmp.type) : icmp.type < 128;
    if (echo && tEnd - t >= 8) icmp.echo = { ident: quick(Q_ICMP_IDENT, b, t), seq: quick(Q_ICMP_SEQ, b, t) };
    if (error && tEnd - t > 8) {
      const quotedIp: IpIndex = { version: 4, src: '', dst: '', srcNum: -1, dstNum: -1, protocol: -1, ipId: 0, fragmentOffset: 0, moreFragments: false };
      const q = readIp(b, t + 8, tEnd, out.version === 4 ? 0x0800 : 0x86dd, quotedIp);
      if (q >= 0) {
        icmp.quoted = { src: quotedIp.src, dst: quotedIp.dst, protocol: quotedIp.protocol };
        if ((quotedIp.protocol === 6 || quotedIp.protocol === 17) && tEnd - q >= 4) {
          icmp.quoted.srcPort = quick(Q_UDP_SRCPORT, b, q);
          icmp.quoted.dstPort = quick(Q_UDP_DSTPORT, b, q);
        }
      }
    }
    out.icmp = icmp;
  }
  return out;
}
