// Ethernet II (IEEE 802.3 with the DIX type field) and the IEEE 802.1Q VLAN tag.
import { decodeFields, readField, spanField, type FieldSpec } from './field-table.js';
import { truncatedProblem, type LayerResult } from './layer.js';

export const ETHERTYPES: Readonly<Record<number, string>> = {
  0x0800: 'IPv4',
  0x0806: 'ARP',
  0x86dd: 'IPv6',
  0x8100: '802.1Q VLAN tag',
  0x88a8: '802.1ad VLAN tag',
  0x8863: 'PPPoE discovery',
  0x8864: 'PPPoE session',
  0x88cc: 'LLDP',
};

/** Ethernet II header: 14 bytes. */
export const ETHERNET = {
  dst: {
    id: 'eth.dst',
    name: 'Destination MAC address',
    offset: 0,
    length: 6,
    format: 'mac',
    note:
      'The network card this frame is for (6 bytes). ff:ff:ff:ff:ff:ff is broadcast: every card on the LAN takes it (ARP requests, DHCP DISCOVER). ' +
      'An odd first byte marks a group (multicast) address.',
  },
  src: {
    id: 'eth.src',
    name: 'Source MAC address',
    offset: 6,
    length: 6,
    format: 'mac',
    note:
      "The sending network card's hardware address (6 bytes; Python's uuid.getnode() reads your own). " +
      'On loopback both addresses are 00:00:00:00:00:00: no network card is involved.',
  },
  type: {
    id: 'eth.type',
    name: 'Type',
    offset: 12,
    length: 2,
    format: 'hex',
    values: ETHERTYPES,
    note:
      'What the data field carries (2 bytes): 0800 IPv4, 0806 ARP, 86dd IPv6, 8100 an 802.1Q VLAN tag, 8864 PPPoE. ' +
      'A value of 1500 (05dc) or less is a length instead: an IEEE 802.3 frame with an LLC header.',
  },
} as const satisfies Record<string, FieldSpec>;

const ETHERNET_TABLE: readonly FieldSpec[] = [ETHERNET.dst, ETHERNET.src, ETHERNET.type];
export const ETHERNET_HEADER = 14;

const ETHERNET_NOTE =
  'The course ends the frame with a 4-byte CRC (the frame check sequence): the sending card computes it and the receiving card checks and ' +
  'strips it, so it never reaches a capture; Wireshark does not show it either. On the wire the data field is 46 to 1500 bytes: a shorter ' +
  'packet is padded up to 46, which is why a small frame is 60 bytes here (64 with the CRC). Loopback has no wire, so its frames are never ' +
  'padded and may be far larger than 1500 bytes.';

/** 802.1Q tag: 4 bytes between the source address and the real type. */
export const VLAN = {
  priority: {
    id: 'vlan.priority',
    name: 'Priority (PCP)',
    offset: 0,
    length: 2,
    mask: 0xe000,
    format: 'dec',
    values: {
      0: 'Best effort',
      1: 'Background',
      2: 'Excellent effort',
      3: 'Critical applications',
      4: 'Video',
      5: 'Voice',
      6: 'Internetwork control',
      7: 'Network control',
    },
    note: 'Priority code point (3 bits, 0-7, IEEE 802.1p): which queue switches put the frame in.',
  },
  dei: {
    id: 'vlan.dei',
    name: 'Drop eligible (DEI)',
    offset: 0,
    length: 2,
    mask: 0x1000,
    format: 'flag',
    values: { 1: 'may be dropped first under congestion' },
    note: 'Drop eligible indicator (1 bit; formerly CFI).',
  },
  id: {
    id: 'vlan.id',
    name: 'VLAN ID',
    offset: 0,
    length: 2,
    mask: 0x0fff,
    format: 'dec',
    note: 'Which virtual LAN the frame belongs to (12 bits: 1-4094; 0 means priority only). Switches keep VLANs apart as if they were separate LANs.',
  },
  etype: {
    id: 'vlan.etype',
    name: 'Type',
    offset: 2,
    length: 2,
    format: 'hex',
    values: ETHERTYPES,
    note: 'The type of what follows the tag, as in an untagged Ethernet header.',
  },
} as const satisfies Record<string, FieldSpec>;

const VLAN_TABLE: readonly FieldSpec[] = [VLAN.priority, VLAN.dei, VLAN.id, VLAN.etype];
export const VLAN_TAG = 4;

/** The IEEE 802.1ad service tag (type 88a8, the outer tag of "QinQ"): the same layout; Wireshark names it apart. */
export const SERVICE_TAG = {
  priority: { ...VLAN.priority, id: 'ieee8021ad.priority' },
  dei: { ...VLAN.dei, id: 'ieee8021ad.dei' },
  id: { ...VLAN.id, id: 'ieee8021ad.id', note: "The service (outer) VLAN: a provider carries each customer's VLANs inside one of its own." },
  etype: { ...VLAN.etype, id: 'ieee8021ah.etype' },
} as const satisfies Record<string, FieldSpec>;

const SERVICE_TAG_TABLE: readonly FieldSpec[] = [SERVICE_TAG.priority, SERVICE_TAG.dei, SERVICE_TAG.id, SERVICE_TAG.etype];

const VLAN_NOTE =
  'An 802.1Q tag (the course\'s "1q tag", type 8100): 4 bytes inserted after the source MAC address. The Ethernet type field says 8100 and ' +
  "the frame's real type follows the tag. It lets one cable carry several separate LANs.";

export function decodeEthernet(b: Uint8Array, at: number, end: number): LayerResult {
  // A header cut short shows no fields (as Wireshark does): the hex pane still has its bytes.
  const { fields, missing } = end - at >= ETHERNET_HEADER ? decodeFields(ETHERNET_TABLE, b, at, end) : { fields: [], missing: ETHERNET.dst.name };
  const layer = {
    id: 'eth',
    name: 'Ethernet II',
    offset: at,
    length: Math.min(ETHERNET_HEADER, end - at),
    summary: '',
    note: ETHERNET_NOTE,
    fields,
    problems: [] as string[],
  };
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('Ethernet', missing, ETHERNET_HEADER, end - at));
    layer.summary = 'Ethernet (cut short)';
    return { layer };
  }
  const type = readField(ETHERNET.type, b, at);
  const src = fields[1].text;
  const dst = fields[0].text;
  if (type <= 1500) {
    layer.name = 'IEEE 802.3';
    fields[2] = {
      ...fields[2],
      id: 'eth.len',
      name: 'Length',
      text: `${type} bytes`,
      value: type,
      note: 'A value of 1500 or less is the length of the data (an IEEE 802.3 frame with an LLC header, not decoded here).',
    };
    layer.summary = `${src} -> ${dst}, 802.3 length ${type}`;
    return { layer };
  }
  layer.summary = `${src} -> ${dst}, type ${ETHERTYPES[type] ?? `0x${type.toString(16).padStart(4, '0')}`}`;
  return { layer, next: { type, offset: at + ETHERNET_HEADER, end } };
}

/** A VLAN tag at `at`; `tpid` is the type that announced it (8100 for 802.1Q, 88a8 for an 802.1ad service tag). */
export function decodeVlan(b: Uint8Array, at: number, end: number, tpid = 0x8100): LayerResult {
  const service = tpid === 0x88a8;
  const { fields, missing } = decodeFields(service ? SERVICE_TAG_TABLE : VLAN_TABLE, b, at, end);
  const layer = {
    id: service ? 'ieee8021ad' : 'vlan',
    name: service ? '802.1ad service tag' : '802.1Q VLAN tag',
    offset: at,
    length: Math.min(VLAN_TAG, end - at),
    summary: '',
    note: VLAN_NOTE,
    fields,
    problems: [] as string[],
  };
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('802.1Q tag', missing, VLAN_TAG, end - at));
    layer.summary = 'VLAN tag (cut short)';
    return { layer };
  }
  const type = readField(VLAN.etype, b, at);
  layer.summary = `${service ? 'Service VLAN' : 'VLAN'} ${readField(VLAN.id, b, at)}, priority ${readField(VLAN.priority, b, at)}, type ${ETHERTYPES[type] ?? `0x${type.toString(16)}`}`;
  return { layer, next: { type, offset: at + VLAN_TAG, end } };
}

/**
 * Bytes after the IP datagram in an Ethernet frame: padding up to the 60-byte minimum (46 bytes of
 * data), or a trailer some other device appended. Wireshark calls the first eth.padding.
 */
export function ethernetPadding(b: Uint8Array, from: number, end: number, frameStart: number) {
  const padding = end - frameStart <= 64;
  return padding
    ? spanField(
        'eth.padding',
        'Padding',
        b,
        from,
        end - from,
        `${end - from} bytes`,
        'The data field must be at least 46 bytes on the wire, so the sender filled the frame up with these bytes. They belong to no higher layer: the IP total length ends before them.',
      )
    : spanField(
        'eth.trailer',
        'Trailer',
        b,
        from,
        end - from,
        `${end - from} bytes`,
        'Bytes after the end of the IP datagram that are not minimum-size padding.',
      );
}
