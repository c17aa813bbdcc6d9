// The IPv6 fixed header (RFC 8200 section 3). Extension headers are named, not decoded.
import { decodeFields, formatIpv6, readField, type FieldSpec } from './field-table.js';
import { IP_PROTOCOLS } from './ipv4.js';
import { truncatedProblem, type LayerResult } from './layer.js';

export const IPV6 = {
  version: { id: 'ipv6.version', name: 'Version', offset: 0, length: 1, mask: 0xf0, format: 'dec', values: { 6: 'IPv6' }, note: '4 bits: 6 for IPv6.' },
  tclass: {
    id: 'ipv6.tclass',
    name: 'Traffic class',
    offset: 0,
    length: 4,
    mask: 0x0ff00000,
    format: 'hex',
    note: "8 bits, IPv4's DS field under another name: 6 bits DSCP, 2 bits ECN.",
    children: [
      { id: 'ipv6.tclass.dscp', name: 'DSCP', offset: 0, length: 4, mask: 0x0fc00000, format: 'dec', note: 'Differentiated services code point (6 bits).' },
      { id: 'ipv6.tclass.ecn', name: 'ECN', offset: 0, length: 4, mask: 0x00300000, format: 'dec', note: 'Explicit congestion notification (2 bits).' },
    ],
  },
  flow: {
    id: 'ipv6.flow',
    name: 'Flow label',
    offset: 1,
    length: 3,
    mask: 0x0fffff,
    format: 'hex',
    note: '20 bits the sender picks per connection so routers can keep its packets on one path.',
  },
  plen: {
    id: 'ipv6.plen',
    name: 'Payload length',
    offset: 4,
    length: 2,
    format: 'dec',
    unit: 'bytes',
    note: "Bytes after this 40-byte header (unlike IPv4's total length, the header is not counted).",
  },
  nxt: {
    id: 'ipv6.nxt',
    name: 'Next header',
    offset: 6,
    length: 1,
    format: 'dec',
    values: IP_PROTOCOLS,
    note: "IPv4's protocol field: 6 TCP, 17 UDP, 58 ICMPv6, or an extension header (0 hop-by-hop, 43 routing, 44 fragment).",
  },
  hlim: { id: 'ipv6.hlim', name: 'Hop limit', offset: 7, length: 1, format: 'dec', note: "IPv4's TTL, renamed for what it always was: a hop count." },
  src: { id: 'ipv6.src', name: 'Source address', offset: 8, length: 16, format: 'ipv6', note: "The sender's IPv6 address (128 bits)." },
  dst: { id: 'ipv6.dst', name: 'Destination address', offset: 24, length: 16, format: 'ipv6', note: 'The destination IPv6 address (128 bits).' },
} as const satisfies Record<string, FieldSpec>;

const IPV6_TABLE: readonly FieldSpec[] = Object.values(IPV6);
export const IPV6_HEADER = 40;

const IPV6_NOTE =
  'The IPv6 header is a fixed 40 bytes: no header checksum (the link and TCP/UDP already check), no fragmentation fields (only the sender ' +
  'fragments, with an extension header), no options in the header (extension headers follow it instead).';

export interface Ipv6Info {
  payloadLength: number;
  nextHeader: number;
  src: string;
  dst: string;
}

export function decodeIpv6(b: Uint8Array, at: number, end: number): LayerResult & { info?: Ipv6Info } {
  const { fields, missing } = decodeFields(IPV6_TABLE, b, at, end);
  const layer = {
    id: 'ipv6',
    name: 'IPv6',
    offset: at,
    length: Math.min(IPV6_HEADER, end - at),
    summary: '',
    note: IPV6_NOTE,
    fields,
    problems: [] as string[],
  };
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('IPv6', missing, IPV6_HEADER, end - at));
    layer.summary = 'IPv6 (cut short)';
    return { layer };
  }
  const info: Ipv6Info = {
    payloadLength: readField(IPV6.plen, b, at),
    nextHeader: readField(IPV6.nxt, b, at),
    src: formatIpv6(b, at + IPV6.src.offset),
    dst: formatIpv6(b, at + IPV6.dst.offset),
  };
  const version = readField(IPV6.version, b, at);
  if (version !== 6) layer.problems.push(`version ${version} in an IPv6 header`);
  layer.summary = `${info.src} -> ${info.dst}, hop limit ${readField(IPV6.hlim, b, at)}, ${IP_PROTOCOLS[info.nextHeader] ?? `next header ${info.nextHeader}`}`;
  return { layer, next: { type: info.nextHeader, offset: at + IPV6_HEADER, end: at + IPV6_HEADER + info.payloadLength }, info };
}
