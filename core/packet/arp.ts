// ARP (RFC 826) for IPv4 over Ethernet: who has this IPv4 address, tell me its MAC address.
import { decodeFields, readField, formatIpv4, formatMac, type FieldSpec } from './field-table.js';
import { truncatedProblem, type LayerResult } from './layer.js';

export const ARP_OPCODES: Readonly<Record<number, string>> = { 1: 'request', 2: 'reply', 3: 'RARP request', 4: 'RARP reply' };

export const ARP = {
  hwType: { id: 'arp.hw.type', name: 'Hardware type', offset: 0, length: 2, format: 'dec', values: { 1: 'Ethernet' }, note: 'The kind of link: 1 = Ethernet.' },
  protoType: {
    id: 'arp.proto.type',
    name: 'Protocol type',
    offset: 2,
    length: 2,
    format: 'hex',
    values: { 0x0800: 'IPv4' },
    note: 'Which addresses are being resolved: 0800, the EtherType of IPv4.',
  },
  hwSize: { id: 'arp.hw.size', name: 'Hardware size', offset: 4, length: 1, format: 'dec', note: 'Length of a hardware address: 6 bytes for a MAC address.' },
  protoSize: { id: 'arp.proto.size', name: 'Protocol size', offset: 5, length: 1, format: 'dec', note: 'Length of a protocol address: 4 bytes for IPv4.' },
  opcode: {
    id: 'arp.opcode',
    name: 'Opcode',
    offset: 6,
    length: 2,
    format: 'dec',
    values: ARP_OPCODES,
    note: '1: a request ("who has 10.0.0.1? tell 10.0.0.2"), broadcast to the whole LAN. 2: the reply ("10.0.0.1 is at aa:bb:..."), sent straight back.',
  },
  senderMac: {
    id: 'arp.src.hw_mac',
    name: 'Sender MAC address',
    offset: 8,
    length: 6,
    format: 'mac',
    note: 'The MAC address of whoever sends this ARP message.',
  },
  senderIp: {
    id: 'arp.src.proto_ipv4',
    name: 'Sender IP address',
    offset: 14,
    length: 4,
    format: 'ipv4',
    note: 'Its IPv4 address. Receivers note the pair (sender IP, sender MAC) in their ARP cache. 0.0.0.0 here is a probe from a host checking that an address is free.',
  },
  targetMac: {
    id: 'arp.dst.hw_mac',
    name: 'Target MAC address',
    offset: 18,
    length: 6,
    format: 'mac',
    note: 'In a request: zero, because this is what is being asked. In a reply: the MAC address of whoever asked.',
  },
  targetIp: {
    id: 'arp.dst.proto_ipv4',
    name: 'Target IP address',
    offset: 24,
    length: 4,
    format: 'ipv4',
    note: 'In a request: the address being resolved. In a reply: the address of whoever asked.',
  },
} as const satisfies Record<string, FieldSpec>;

const ARP_TABLE: readonly FieldSpec[] = Object.values(ARP);
export const ARP_LENGTH = 28;

const ARP_NOTE =
  'ARP finds the MAC address that belongs to an IPv4 address on the same LAN, because Ethernet delivers by MAC address. The course meets it in ' +
  'DHCP: a client that was offered an address first asks "who has it?" and declines the offer if someone answers. ARP is not carried in IP: it is its own EtherType (0806).';

export interface ArpInfo {
  opcode: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** The ARP fields the frame index keeps (Ethernet hardware, IPv4 protocol only). */
export function arpInfo(b: Uint8Array, at: number, end: number): ArpInfo | undefined {
  if (end - at < ARP_LENGTH || readField(ARP.hwSize, b, at) !== 6 || readField(ARP.protoSize, b, at) !== 4) return undefined;
  return {
    opcode: readField(ARP.opcode, b, at),
    senderMac: formatMac(b, at + ARP.senderMac.offset),
    senderIp: formatIpv4(b, at + ARP.senderIp.offset),
    targetMac: formatMac(b, at + ARP.targetMac.offset),
    targetIp: formatIpv4(b, at + ARP.targetIp.offset),
  };
}

export function decodeArp(b: Uint8Array, at: number, end: number): LayerResult {
  const layer = {
    id: 'arp',
    name: 'ARP',
    offset: at,
    length: Math.min(ARP_LENGTH, end - at),
    summary: '',
    note: ARP_NOTE,
    fields: [] as ReturnType<typeof decodeFields>['fields'],
    problems: [] as string[],
  };
  if (end - at >= 6 && (readField(ARP.hwSize, b, at) !== 6 || readField(ARP.protoSize, b, at) !== 4)) {
    const { fields } = decodeFields(ARP_TABLE.slice(0, 4), b, at, end);
    layer.fields = fields;
    layer.problems.push('not ARP for IPv4 over Ethernet (hardware size 6, protocol size 4): addresses not decoded');
    layer.summary = 'ARP (other address types)';
    return { layer };
  }
  const { fields, missing } = decodeFields(ARP_TABLE, b, at, end);
  layer.fields = fields;
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('ARP', missing, ARP_LENGTH, end - at));
    layer.summary = 'ARP (cut short)';
    return { layer };
  }
  const info = arpInfo(b, at, end)!;
  if (info.opcode === 1) {
    layer.summary =
      info.senderIp === '0.0.0.0'
        ? `Who has ${info.targetIp}? (probe: is this address free?)`
        : info.senderIp === info.targetIp
          ? `Gratuitous ARP: ${info.senderIp} is at ${info.senderMac}`
          : `Who has ${info.targetIp}? Tell ${info.senderIp}`;
  } else if (info.opcode === 2) layer.summary = `${info.senderIp} is at ${info.senderMac}`;
  else layer.summary = `ARP ${ARP_OPCODES[info.opcode] ?? `opcode ${info.opcode}`}`;
  return { layer };
}
