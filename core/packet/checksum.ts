// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit words.
// IPv4 uses it over its header; UDP, TCP and ICMPv6 over a pseudo-header (addresses, protocol,
// length: RFC 768, RFC 9293 section 3.1, RFC 8200 section 8.1) plus their header and data; ICMP over
// its message. A capture taken on the sending machine may show a TCP or UDP checksum the network card
// was left to fill in (checksum offload; on loopback nobody ever fills it in): the stack then stored
// only the pseudo-header sum. That is recognised and reported as offloaded, not as wrong.
import type { ChecksumCheck } from './field-table.js';

/** Adds the 16-bit big-endian words of b[from, to) to `sum` (an odd last byte is padded with zero). */
export function sumWords(b: Uint8Array, from: number, to: number, sum = 0): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < to) sum += b[i] << 8;
  return sum;
}

/** Folds a running sum to 16 bits (end-around carry). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The pseudo-header sum for IPv4 (source, destination, zero, protocol, length). */
export function pseudoSumV4(b: Uint8Array, ipBase: number, protocol: number, length: number): number {
  return sumWords(b, ipBase + 12, ipBase + 20) + protocol + length;
}

/** The pseudo-header sum for IPv6 (source, destination, 32-bit length, next header). */
export function pseudoSumV6(b: Uint8Array, ipBase: number, nextHeader: number, length: number): number {
  return sumWords(b, ipBase + 8, ipBase + 40) + Math.floor(length / 0x10000) + (length & 0xffff) + nextHeader;
}

/**
 * Verifies a checksum field at `fieldAt` inside b[from, to) given the pseudo-header sum (0 for none).
 * `computed` is what the field should hold. For TCP and UDP the field holding exactly the folded
 * pseudo-header sum is how Linux hands the rest to the card (CHECKSUM_PARTIAL): offloaded.
 */
export function verifyChecksum(b: Uint8Array, from: number, to: number, fieldAt: number, pseudo: number, kind: 'header' | 'tcp' | 'udp'): ChecksumCheck {
  const field = (b[fieldAt] << 8) | b[fieldAt + 1];
  const total = sumWords(b, from, to, pseudo);
  // The sum with the field taken as zero gives the value the field should hold.
  let computed = ~fold(total - field) & 0xffff;
  if (kind === 'udp' && computed === 0) computed = 0xffff; // RFC 768: UDP sends a computed zero as all ones
  // Summing everything, the field included, gives all ones when it is right (0 and 0xffff are both zero
  // in one's complement, so either form of a zero checksum verifies).
  if (fold(total) === 0xffff) return { status: 'good', computed, text: `0x${hex4(field)} correct` };
  if (kind !== 'header') {
    const partial = fold(pseudo);
    if (field === partial || field === (~partial & 0xffff)) {
      return {
        status: 'offloaded',
        computed,
        text: `0x${hex4(field)}: left to the network card (checksum offload); it holds only the pseudo-header sum, the card fills in 0x${hex4(computed)}`,
      };
    }
  }
  return { status: 'bad', computed, text: `0x${hex4(field)} wrong: should be 0x${hex4(computed)}` };
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
