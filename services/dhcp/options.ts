// The DHCP options labnet knows (RFC 2132, RFC 3442 for 121, RFC 4361 for 61's shape): code, name and
// value kind. The kind drives how events show the value; unknown codes are shown as hex.
import { intToIp } from './ipv4.js';

export const OPT = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dnsServers: 6,
  hostName: 12,
  domainName: 15,
  broadcastAddress: 28,
  requestedAddress: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  parameterRequestList: 55,
  message: 56,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  vendorClassId: 60,
  clientId: 61,
  classlessRoutes: 121,
  end: 255,
} as const;

/** RFC 2132 section 9.6. */
export const MSG = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export const MESSAGE_NAMES: Record<number, string> = {
  1: 'DHCPDISCOVER',
  2: 'DHCPOFFER',
  3: 'DHCPREQUEST',
  4: 'DHCPDECLINE',
  5: 'DHCPACK',
  6: 'DHCPNAK',
  7: 'DHCPRELEASE',
  8: 'DHCPINFORM',
};

type Kind = 'ip' | 'ips' | 'u8' | 'u16' | 'u32' | 'text' | 'codes' | 'messageType' | 'clientId' | 'routes' | 'hex';

interface OptionInfo {
  name: string;
  kind: Kind;
}

const TABLE: Record<number, OptionInfo> = {
  1: { name: 'subnetMask', kind: 'ip' },
  2: { name: 'timeOffset', kind: 'u32' },
  3: { name: 'router', kind: 'ips' },
  6: { name: 'dnsServers', kind: 'ips' },
  12: { name: 'hostName', kind: 'text' },
  15: { name: 'domainName', kind: 'text' },
  26: { name: 'interfaceMtu', kind: 'u16' },
  28: { name: 'broadcastAddress', kind: 'ip' },
  42: { name: 'ntpServers', kind: 'ips' },
  50: { name: 'requestedAddress', kind: 'ip' },
  51: { name: 'leaseTime', kind: 'u32' },
  52: { name: 'overload', kind: 'u8' },
  53: { name: 'messageType', kind: 'messageType' },
  54: { name: 'serverId', kind: 'ip' },
  55: { name: 'parameterRequestList', kind: 'codes' },
  56: { name: 'message', kind: 'text' },
  57: { name: 'maxMessageSize', kind: 'u16' },
  58: { name: 'renewalTime', kind: 'u32' },
  59: { name: 'rebindingTime', kind: 'u32' },
  60: { name: 'vendorClassId', kind: 'text' },
  61: { name: 'clientId', kind: 'clientId' },
  81: { name: 'clientFqdn', kind: 'hex' },
  82: { name: 'relayAgentInfo', kind: 'hex' },
  119: { name: 'domainSearch', kind: 'hex' },
  121: { name: 'classlessRoutes', kind: 'routes' },
};

export function optionName(code: number): string {
  return TABLE[code]?.name ?? `option${code}`;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function text(b: Uint8Array): string {
  // Printable ASCII only: option text goes to logs and the dashboard.
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '.');
}

function readIp(b: Uint8Array, i: number): string {
  return `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`;
}

/** A readable value for events; never throws (wrong lengths fall back to hex). */
export function describeOption(code: number, value: Uint8Array): unknown {
  const kind = TABLE[code]?.kind ?? 'hex';
  const n = value.length;
  switch (kind) {
    case 'ip':
      return n === 4 ? readIp(value, 0) : hex(value);
    case 'ips':
      if (n === 0 || n % 4 !== 0) return hex(value);
      return Array.from({ length: n / 4 }, (_, k) => readIp(value, k * 4));
    case 'u8':
      return n === 1 ? value[0] : hex(value);
    case 'u16':
      return n === 2 ? (value[0] << 8) | value[1] : hex(value);
    case 'u32':
      return n === 4 ? ((value[0] << 24) | (value[1] << 16) | (value[2] << 8) | value[3]) >>> 0 : hex(value);
    case 'text':
      return text(value);
    case 'codes':
      return Array.from(value, (c) => optionName(c));
    case 'messageType':
      return n === 1 ? (MESSAGE_NAMES[value[0]] ?? value[0]) : hex(value);
    case 'clientId':
      // RFC 2132 9.14: type octet then identifier; type 1 is an Ethernet address.
      if (n === 7 && value[0] === 1) return `01:${Array.from(value.subarray(1), (x) => x.toString(16).padStart(2, '0')).join(':')}`;
      return hex(value);
    case 'routes':
      return describeRoutes(value) ?? hex(value);
    case 'hex':
      return hex(value);
  }
}

/** RFC 3442: width octet, significant destination octets, router. */
function describeRoutes(b: Uint8Array): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    const width = b[i];
    if (width > 32) return undefined;
    const octets = Math.ceil(width / 8);
    if (i + 1 + octets + 4 > b.length) return undefined;
    const dest = [0, 0, 0, 0];
    for (let k = 0; k < octets; k++) dest[k] = b[i + 1 + k]!;
    out.push(`${dest.join('.')}/${width} via ${readIp(b, i + 1 + octets)}`);
    i += 1 + octets + 4;
  }
  return out;
}

export function ipOption(ip: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(ip >>> 0, 0);
  return b;
}

export function ipsOption(ips: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * ips.length);
  ips.forEach((ip, k) => b.writeUInt32BE(ip >>> 0, 4 * k));
  return b;
}

export function u32Option(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

/** RFC 3442 encoding of the default route only (0.0.0.0/0 via router). */
export function defaultRouteOption(router: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = 0;
  b.writeUInt32BE(router >>> 0, 1);
  return b;
}

export { intToIp };
