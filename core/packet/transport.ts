// What a transport-layer decoder needs to know about the IP datagram around it: the addresses for
// the pseudo-header checksum, and whether the data it covers was captured whole.
import { pseudoSumV4, pseudoSumV6 } from './checksum.js';

export interface IpContext {
  version: 4 | 6;
  /** Where the IP header starts in the frame. */
  base: number;
  src: string;
  dst: string;
  /** The transport data continues in later fragments: a checksum over it cannot be verified here. */
  fragmented: boolean;
  /** Inside an ICMP error's quote: only the first bytes are there, so nothing is verified. */
  quoted: boolean;
}

/** The pseudo-header sum of RFC 768 / RFC 9293 / RFC 8200 section 8.1 for this datagram. */
export function pseudoSum(b: Uint8Array, ip: IpContext, protocol: number, length: number): number {
  return ip.version === 4 ? pseudoSumV4(b, ip.base, protocol, length) : pseudoSumV6(b, ip.base, protocol, length);
}
