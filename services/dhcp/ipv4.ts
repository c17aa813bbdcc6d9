// IPv4 addresses as unsigned 32-bit numbers (the allocator's index keys) and back.
import { isIPv4 } from 'node:net';

export function ipToInt(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function intToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskFromPrefix(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export interface Subnet {
  network: number;
  prefix: number;
  mask: number;
  broadcast: number;
  text: string;
}

/** Parses "10.0.0.0/24"; returns undefined when it is not a CIDR IPv4 subnet. */
export function parseCidr(text: string): Subnet | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text.trim());
  if (!m || !isIPv4(m[1])) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 30) return undefined;
  const mask = maskFromPrefix(prefix);
  const network = (ipToInt(m[1]) & mask) >>> 0;
  return { network, prefix, mask, broadcast: (network | ~mask) >>> 0, text: `${intToIp(network)}/${prefix}` };
}

/** A host address of the subnet (not the network or broadcast address). */
export function inSubnet(subnet: Subnet, ip: number): boolean {
  return (ip & subnet.mask) >>> 0 === subnet.network && ip !== subnet.network && ip !== subnet.broadcast;
}

export function macToString(chaddr: Uint8Array, hlen: number): string {
  let s = '';
  for (let i = 0; i < Math.min(hlen, chaddr.length, 16); i++) s += (i ? ':' : '') + chaddr[i].toString(16).padStart(2, '0');
  return s;
}

/** "AA-bb:cc..." -> "aa:bb:cc:..."; undefined when not six hex octets. */
export function normaliseMac(text: string): string | undefined {
  const parts = text.trim().toLowerCase().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{1,2}$/.test(p))) return undefined;
  return parts.map((p) => p.padStart(2, '0')).join(':');
}
