// IPv4 and IPv6 addresses as text and as octets (A and AAAA data, reverse names, subnets). IPv6 text
// is written in RFC 5952 canonical form (lower case, longest run of zero groups as "::").
import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv4, formatIpv6 } from '../../core/ip-text.js';
import { DnsWireError } from './wire-error.js';

export function ipv4ToBytes(text: string): Uint8Array {
  if (!isIPv4(text)) throw new DnsWireError('BAD_VALUE', `"${text}" is not an IPv4 address`);
  return Uint8Array.from(text.split('.').map(Number));
}

/** Dotted-decimal text of four octets (core/ip-text.ts). */
export const bytesToIpv4 = formatIpv4;

export function ipv6ToBytes(text: string): Uint8Array {
  if (!isIPv6(text)) throw new DnsWireError('BAD_VALUE', `"${text}" is not an IPv6 address`);
  let s = text.split('%')[0];
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = ipv4ToBytes(v4[1]);
    s = `${s.slice(0, v4.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** RFC 5952 text of 16 octets (core/ip-text.ts). */
export const bytesToIpv6 = formatIpv6;

/** An address's octets (4 or 16), or undefined for something that is not an address. */
export function addressBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return ipv4ToBytes(text);
  if (isIPv6(text)) return ipv6ToBytes(text);
  return undefined;
}

/** "::ffff:192.0.2.1" (a v4 client on a dual-stack socket) as "192.0.2.1"; other addresses unchanged. */
export function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export interface Subnet {
  family: 4 | 6;
  /** Network octets (host bits zero). */
  network: Uint8Array;
  prefix: number;
}

/** "192.168.50.0/24" or "fd00::/64"; undefined when not a subnet. */
export function parseSubnet(text: string): Subnet | undefined {
  const [addr, len] = text.split('/');
  const bytes = addressBytes(addr);
  if (!bytes || len === undefined || !/^\d{1,3}$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > bytes.length * 8) return undefined;
  return { family: bytes.length === 4 ? 4 : 6, network: maskBytes(bytes, prefix), prefix };
}

/** The subnet of `address` with this many prefix bits. */
export function subnetOf(address: string, prefix: number): Subnet | undefined {
  const bytes = addressBytes(address);
  if (!bytes) return undefined;
  return { family: bytes.length === 4 ? 4 : 6, network: maskBytes(bytes, Math.min(prefix, bytes.length * 8)), prefix: Math.min(prefix, bytes.length * 8) };
}

export function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i] & (bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff);
  }
  return out;
}

export function inSubnet(subnet: Subnet, bytes: Uint8Array): boolean {
  if (bytes.length !== subnet.network.length) return false;
  const masked = maskBytes(bytes, subnet.prefix);
  for (let i = 0; i < masked.length; i++) if (masked[i] !== subnet.network[i]) return false;
  return true;
}

export function subnetText(s: Subnet): string {
  return `${s.family === 4 ? bytesToIpv4(s.network) : bytesToIpv6(s.network)}/${s.prefix}`;
}

/** Prefix length of a netmask such as 255.255.255.0 or ffff:ffff::. */
export function netmaskPrefix(netmask: string): number {
  const b = addressBytes(netmask);
  if (!b) return 0;
  let n = 0;
  for (const byte of b) {
    if (byte === 0xff) n += 8;
    else {
      let x = byte;
      while (x & 0x80) {
        n++;
        x = (x << 1) & 0xff;
      }
      break;
    }
  }
  return n;
}
