// What a header decoder returns: one layer of the frame (its fields, a one-line summary, the course's
// note on the header as a whole, what went wrong) and where its payload starts.
import type { PacketField } from './field-table.js';

export interface PacketLayer {
  /** Wireshark's protocol name: 'eth', 'vlan', 'arp', 'ip', 'ipv6', 'icmp', 'icmpv6', 'udp', 'tcp', 'data'. */
  id: string;
  /** 'Ethernet II', 'IPv4', 'TCP', ... */
  name: string;
  /** Where the header starts in the frame and how many of its bytes were captured. */
  offset: number;
  length: number;
  /** One line: "10.0.0.2 -> 10.0.0.1, TTL 64, TCP". */
  summary: string;
  /** The course's words on this header as a whole. */
  note?: string;
  fields: PacketField[];
  /** Problems seen: cut short by the capture, a length that does not add up, a wrong checksum. */
  problems: string[];
  /** A header quoted inside an ICMP error (the datagram the error is about), not this frame's own. */
  quoted?: boolean;
}

/** Where a header's payload lies and what it is. */
export interface NextHeader {
  /** EtherType (after Ethernet or a VLAN tag) or IP protocol number (after IPv4/IPv6). */
  type: number;
  offset: number;
  /** End of the payload per the header's own length fields (it may lie past the captured end). */
  end: number;
}

export interface LayerResult {
  layer: PacketLayer;
  next?: NextHeader;
}

/** A layer whose header was cut short by the capture (snap length) or by a malformed length. */
export function truncatedProblem(name: string, missing: string | undefined, needed: number, captured: number): string {
  return `${name} header cut short: ${needed} bytes needed, ${Math.max(0, captured)} captured${missing ? ` (from "${missing}" on)` : ''}`;
}
