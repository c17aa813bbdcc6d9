// UDP (RFC 768): ports, a length and a checksum in front of the data; nothing else.
import { verifyChecksum } from './checksum.js';
import { decodeFields, readField, type FieldSpec } from './field-table.js';
import { truncatedProblem, type LayerResult } from './layer.js';
import { pseudoSum, type IpContext } from './transport.js';

export const UDP = {
  srcport: {
    id: 'udp.srcport',
    name: 'Source port',
    offset: 0,
    length: 2,
    format: 'dec',
    note: "The sending application's port (2 bytes). A DHCP client sends from 68.",
  },
  dstport: {
    id: 'udp.dstport',
    name: 'Destination port',
    offset: 2,
    length: 2,
    format: 'dec',
    note: 'The port of the application the datagram is for (2 bytes): 67 for a DHCP server, 68 for a DHCP client, 53 for DNS.',
  },
  length: {
    id: 'udp.length',
    name: 'Length',
    offset: 4,
    length: 2,
    format: 'dec',
    unit: 'bytes',
    note: "Header (8 bytes) plus data. The course's 0-65527 bytes of data is what this 16-bit length allows: 65535 - 8.",
  },
  checksum: {
    id: 'udp.checksum',
    name: 'Checksum',
    offset: 6,
    length: 2,
    format: 'hex',
    note:
      'Covers a pseudo-header (source and destination address, protocol, length), the UDP header and the data. 0 means the sender computed none: ' +
      'allowed over IPv4, not over IPv6.',
  },
} as const satisfies Record<string, FieldSpec>;

const UDP_TABLE: readonly FieldSpec[] = Object.values(UDP);
export const UDP_HEADER = 8;

const UDP_NOTE =
  'UDP adds only ports, a length and a checksum to IP: no connection set-up, no acknowledgements, no retransmission, no ordering. A lost ' +
  'datagram is simply gone, as the course says; the application (DHCP, DNS) retries by itself.';

/**
 * Decodes a UDP header at `at`. `end` is the captured end of the frame, `datagramEnd` where the IP
 * datagram ends per its own length.
 */
export function decodeUdp(b: Uint8Array, at: number, end: number, datagramEnd: number, ip: IpContext): LayerResult {
  const { fields, missing } = decodeFields(UDP_TABLE, b, at, end);
  const layer = {
    id: 'udp',
    name: 'UDP',
    offset: at,
    length: Math.min(UDP_HEADER, end - at),
    summary: '',
    note: UDP_NOTE,
    fields,
    problems: [] as string[],
    ...(ip.quoted ? { quoted: true } : {}),
  };
  if (missing !== undefined) {
    if (!ip.quoted) layer.problems.push(truncatedProblem('UDP', missing, UDP_HEADER, end - at));
    layer.summary = 'UDP (cut short)';
    return { layer };
  }
  const sport = readField(UDP.srcport, b, at);
  const dport = readField(UDP.dstport, b, at);
  const length = readField(UDP.length, b, at);
  layer.summary = `${sport} -> ${dport}, ${Math.max(0, length - UDP_HEADER)} bytes of data`;
  if (ip.quoted) return { layer };
  const udpEnd = at + length;
  if (length < UDP_HEADER) layer.problems.push(`length ${length} is less than the 8-byte header`);
  else if (udpEnd > datagramEnd) layer.problems.push(`length ${length} runs past the end of the IP datagram`);
  const checksum = fields.find((f) => f.id === UDP.checksum.id)!;
  if (readField(UDP.checksum, b, at) === 0) {
    checksum.check = { status: 'none', text: 'none: the sender did not compute a checksum' };
    if (ip.version === 6) layer.problems.push('a zero UDP checksum is not allowed over IPv6');
  } else if (ip.fragmented || udpEnd > end || length < UDP_HEADER || udpEnd > datagramEnd) {
    checksum.check = {
      status: 'unverified',
      text: ip.fragmented ? 'not verified: the rest of the data is in other fragments' : 'not verified: the datagram was not captured whole',
    };
  } else {
    checksum.check = verifyChecksum(b, at, udpEnd, at + UDP.checksum.offset, pseudoSum(b, ip, 17, length), 'udp');
    if (checksum.check.status === 'bad') layer.problems.push(`checksum ${checksum.check.text}`);
  }
  const payloadEnd = length >= UDP_HEADER ? Math.min(udpEnd, datagramEnd) : datagramEnd;
  return { layer, next: { type: 17, offset: at + UDP_HEADER, end: payloadEnd } };
}
