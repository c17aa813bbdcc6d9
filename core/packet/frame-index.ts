// The quick look every captured frame gets on arrival: addresses, ports, TCP numbers and flags, the
// DHCP transaction and client, the ARP question, the TLS client random. Enough to put the frame in its
// flow, follow its TCP connection and link it to a labnet session; the full field-by-field decoding
// (decode-frame.ts) runs only when someone opens the frame. The offsets come from the same field
// tables the full decoder uses.
import { arpInfo, type ArpInfo } from './arp.js';
import { ETHERNET, ETHERNET_HEADER, VLAN, VLAN_TAG } from './ethernet.js';
import { formatIpv4, formatIpv6, formatMac, readField, hexOf } from './field-table.js';
import { ICMP } from './icmp.js';
import { IPV4 } from './ipv4.js';
import { IPV6, IPV6_HEADER } from './ipv6.js';
import { LINKTYPE } from './decode-frame.js';
import { dhcpInfo, looksLikeTls, type DhcpInfo } from './payload.js';
import { TCP, tcpOptions, TCP_MIN_HEADER, type TcpOptionsInfo } from './tcp.js';
import { UDP, UDP_HEADER } from './udp.js';

export interface IpIndex {
  version: 4 | 6;
  src: string;
  dst: string;
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

function ipv4Text(b: Uint8Array, at: number): string {
  const n = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  let s = ADDRESSES.get(n);
  if (s === undefined) {
    if (ADDRESSES.size >= MAX_ADDRESSES) ADDRESSES.clear();
    s = formatIpv4(b, at);
    ADDRESSES.set(n, s);
  }
  return s;
}

/** Reads a TLS ClientHello's random from a TCP payload that starts with the handshake record. */
export function clientHelloRandom(b: Uint8Array, at: number, end: number): string | undefined {
  // record: type 22, version, length; handshake: type 1, length (3); client_version (2); random (32)
  if (end - at < 5 + 4 + 2 + 32 || !looksLikeTls(b, at, end) || b[at] !== 22 || b[at + 5] !== 1) return undefined;
  return hexOf(b, at + 11, at + 43);
}

/** Reads an IP header at `at` into `ip`; returns where its payload starts and ends, or undefined. */
function readIp(b: Uint8Array, at: number, end: number, etherType: number, ip: IpIndex): { payload: number; payloadEnd: number } | undefined {
  if (etherType === 0x0800) {
    if (end - at < 20 || readField(IPV4.version, b, at) !== 4) return undefined;
    const hl = readField(IPV4.hdrLen, b, at) * 4;
    if (hl < 20) return undefined;
    const total = readField(IPV4.len, b, at);
    ip.version = 4;
    ip.src = ipv4Text(b, at + IPV4.src.offset);
    ip.dst = ipv4Text(b, at + IPV4.dst.offset);
    ip.protocol = readField(IPV4.proto, b, at);
    ip.ipId = readField(IPV4.id, b, at);
    ip.fragmentOffset = readField(IPV4.fragOffset, b, at) * 8;
    ip.moreFragments = readField(IPV4.flags.children[2], b, at) === 1;
    return { payload: at + hl, payloadEnd: at + Math.max(total, hl) };
  }
  if (etherType === 0x86dd) {
    if (end - at < IPV6_HEADER) return undefined;
    ip.version = 6;
    ip.src = formatIpv6(b, at + IPV6.src.offset);
    ip.dst = formatIpv6(b, at + IPV6.dst.offset);
    ip.protocol = readField(IPV6.nxt, b, at);
    ip.ipId = 0;
    ip.fragmentOffset = 0;
    ip.moreFragments = false;
    return { payload: at + IPV6_HEADER, payloadEnd: at + IPV6_HEADER + readField(IPV6.plen, b, at) };
  }
  return undefined;
}

/** The quick look at one frame, written into `out` (a fresh index by default). Never throws on any input. */
export function indexFrame<T extends FrameIndex>(b: Uint8Array, linkType: number, out: T = new FrameIndex() as T): T {
  const end = b.length;
  let at = 0;
  if (linkType === LINKTYPE.ETHERNET) {
    if (end < ETHERNET_HEADER) return out;
    out.etherType = readField(ETHERNET.type, b, 0);
    at = ETHERNET_HEADER;
    for (let tags = 0; (out.etherType === 0x8100 || out.etherType === 0x88a8) && tags < 4; tags++) {
      if (end - at < VLAN_TAG) return out;
      out.vlan = readField(VLAN.id, b, at);
      out.etherType = readField(VLAN.etype, b, at);
      at += VLAN_TAG;
    }
    if (out.etherType !== 0x0800 && out.etherType !== 0x86dd && out.etherType !== 0x0806) {
      out.dstMac = formatMac(b, ETHERNET.dst.offset);
      out.srcMac = formatMac(b, ETHERNET.src.offset);
    }
  } else if (linkType === LINKTYPE.RAW || linkType === LINKTYPE.IPV4 || linkType === LINKTYPE.IPV6) {
    if (end < 1) return out;
    out.etherType = b[0] >> 4 === 6 ? 0x86dd : 0x0800;
  } else return out;

  if (out.etherType === 0x0806) {
    const arp = arpInfo(b, at, end);
    if (arp) out.arp = arp;
    return out;
  }
  const r = readIp(b, at, end, out.etherType, out);
  if (!r) return out;
  out.hasIp = true;
  if (out.fragmentOffset > 0) return out; // the middle of a datagram: no transport header here
  const t = r.payload;
  const tEnd = Math.min(end, r.payloadEnd);
  if (out.protocol === 6 && tEnd - t >= TCP_MIN_HEADER) {
    const hl = readField(TCP.hdrLen, b, t) * 4;
    out.srcPort = readField(TCP.srcport, b, t);
    out.dstPort = readField(TCP.dstport, b, t);
    out.hasTcp = true;
    out.seq = readField(TCP.seq, b, t);
    out.ack = readField(TCP.ack, b, t);
    out.flags = readField(TCP.flags, b, t);
    out.window = readField(TCP.window, b, t);
    out.dataLength = Math.max(0, r.payloadEnd - t - Math.max(hl, TCP_MIN_HEADER));
    if (hl > TCP_MIN_HEADER && t + hl <= tEnd) out.options = tcpOptions(b, t + TCP_MIN_HEADER, t + hl);
    out.payloadOffset = t + hl;
    out.payloadLength = out.dataLength;
    if (out.dataLength > 0) {
      const random = clientHelloRandom(b, t + hl, tEnd);
      if (random) out.clientRandom = random;
    }
  } else if (out.protocol === 17 && tEnd - t >= UDP_HEADER) {
    out.srcPort = readField(UDP.srcport, b, t);
    out.dstPort = readField(UDP.dstport, b, t);
    out.payloadOffset = t + UDP_HEADER;
    out.payloadLength = Math.max(0, Math.min(readField(UDP.length, b, t), r.payloadEnd - t) - UDP_HEADER);
    if ((out.srcPort === 67 || out.srcPort === 68) && (out.dstPort === 67 || out.dstPort === 68)) {
      const d = dhcpInfo(b, t + UDP_HEADER, tEnd);
      if (d) out.dhcp = d;
    }
  } else if ((out.protocol === 1 || out.protocol === 58) && tEnd - t >= 4) {
    const icmp: IcmpIndex = { version: out.version, type: b[t + ICMP.type.offset], code: b[t + ICMP.code.offset] };
    const echo = out.version === 4 ? icmp.type === 0 || icmp.type === 8 : icmp.type === 128 || icmp.type === 129;
    const error = out.version === 4 ? [3, 4, 5, 11, 12].includes(icmp.type) : icmp.type < 128;
    if (echo && tEnd - t >= 8) icmp.echo = { ident: readField(ICMP.ident, b, t), seq: readField(ICMP.seq, b, t) };
    if (error && tEnd - t > 8) {
      const quotedIp: IpIndex = { version: 4, src: '', dst: '', protocol: -1, ipId: 0, fragmentOffset: 0, moreFragments: false };
      const q = readIp(b, t + 8, tEnd, out.version === 4 ? 0x0800 : 0x86dd, quotedIp);
      if (q) {
        icmp.quoted = { src: quotedIp.src, dst: quotedIp.dst, protocol: quotedIp.protocol };
        if ((quotedIp.protocol === 6 || quotedIp.protocol === 17) && tEnd - q.payload >= 4) {
          icmp.quoted.srcPort = readField(UDP.srcport, b, q.payload);
          icmp.quoted.dstPort = readField(UDP.dstport, b, q.payload);
        }
      }
    }
    out.icmp = icmp;
  }
  return out;
}
