// What a header decoder returns: one layer of the frame (its fields, a one-line summary, the course's
// note on the header as a whole, what went wrong) and where its payload starts.
import type { PacketLayer } from './view-types.js';
export type { PacketLayer } from './view-types.js';

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
