// ICMP (RFC 792) and ICMPv6 (RFC 4443, neighbour discovery RFC 4861): echo (ping) and the errors that
// quote the datagram they are about. One table for the common header of each, one per message body.
import { verifyChecksum } from './checksum.js';
import { decodeFields, hexOf, readField, spanField, type FieldSpec, type PacketField } from './field-table.js';
import { truncatedProblem, type LayerResult, type PacketLayer } from './layer.js';
import { pseudoSum, type IpContext } from './transport.js';

export const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'Echo reply',
  3: 'Destination unreachable',
  4: 'Source quench',
  5: 'Redirect',
  8: 'Echo request',
  9: 'Router advertisement',
  10: 'Router solicitation',
  11: 'Time exceeded',
  12: 'Parameter problem',
  13: 'Timestamp request',
  14: 'Timestamp reply',
};

const ICMP_CODES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  3: {
    0: 'Network unreachable',
    1: 'Host unreachable',
    2: 'Protocol unreachable',
    3: 'Port unreachable',
    4: 'Fragmentation needed but DF set',
    5: 'Source route failed',
    6: 'Destination network unknown',
    7: 'Destination host unknown',
    9: 'Network administratively prohibited',
    10: 'Host administratively prohibited',
    13: 'Communication administratively prohibited',
  },
  5: { 0: 'for the network', 1: 'for the host', 2: 'for the TOS and network', 3: 'for the TOS and host' },
  11: { 0: 'Time to live exceeded in transit', 1: 'Fragment reassembly time exceeded' },
  12: { 0: 'Pointer indicates the error', 1: 'Missing a required option', 2: 'Bad length' },
};

/** Error messages quote the IP header and at least the first 8 bytes of the datagram that caused them. */
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);

export const ICMP = {
  type: {
    id: 'icmp.type',
    name: 'Type',
    offset: 0,
    length: 1,
    format: 'dec',
    values: ICMP_TYPES,
    note: '8 echo request and 0 echo reply (ping); errors: 3 destination unreachable, 11 time exceeded (traceroute), 12 parameter problem.',
  },
  code: {
    id: 'icmp.code',
    name: 'Code',
    offset: 1,
    length: 1,
    format: 'dec',
    note: 'Refines the type: for type 3, code 3 is "port unreachable" (nothing listens on that UDP port).',
  },
  checksum: {
    id: 'icmp.checksum',
    name: 'Checksum',
    offset: 2,
    length: 2,
    format: 'hex',
    note: "One's complement sum over the whole ICMP message (no pseudo-header in IPv4).",
  },
  ident: {
    id: 'icmp.ident',
    name: 'Identifier',
    offset: 4,
    length: 2,
    format: 'dec',
    note: 'Picked by the pinging program; the reply carries the same, so ping can tell its replies from those of another ping running at the same time.',
  },
  seq: {
    id: 'icmp.seq',
    name: 'Sequence number',
    offset: 6,
    length: 2,
    format: 'dec',
    note: "Counts the requests (icmp_seq in ping's output); a gap means a lost request or reply.",
  },
  unused: { id: 'icmp.unused', name: 'Unused', offset: 4, length: 4, format: 'bytes', note: 'Zero.' },
  unusedShort: { id: 'icmp.unused', name: 'Unused', offset: 4, length: 2, format: 'bytes', note: 'Zero.' },
  mtu: {
    id: 'icmp.mtu',
    name: 'MTU of next hop',
    offset: 6,
    length: 2,
    format: 'dec',
    unit: 'bytes',
    note: 'The largest packet the next link takes. The sender set DF, so the router dropped the packet instead of fragmenting it: the sender should send smaller ones (path MTU discovery).',
  },
  pointer: { id: 'icmp.pointer', name: 'Pointer', offset: 4, length: 1, format: 'dec', note: 'The byte of the quoted header where the problem is.' },
  gateway: { id: 'icmp.redir_gw', name: 'Gateway address', offset: 4, length: 4, format: 'ipv4', note: 'The better router to use for this destination.' },
} as const satisfies Record<string, FieldSpec>;

const ICMP_NOTE =
  "ICMP carries IP's own messages: ping's echo request and reply, and the errors routers and hosts send back (unreachable, time exceeded). " +
  'An error quotes the IP header and the first 8 bytes of the datagram that caused it: those 8 bytes hold the UDP or TCP ports, so the sender ' +
  'can tell which conversation the error is about.';

export const ICMPV6_TYPES: Readonly<Record<number, string>> = {
  1: 'Destination unreachable',
  2: 'Packet too big',
  3: 'Time exceeded',
  4: 'Parameter problem',
  128: 'Echo request',
  129: 'Echo reply',
  130: 'Multicast listener query',
  131: 'Multicast listener report',
  133: 'Router solicitation',
  134: 'Router advertisement',
  135: 'Neighbor solicitation',
  136: 'Neighbor advertisement',
  137: 'Redirect',
  143: 'Multicast listener report v2',
};

const ICMPV6_CODES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  1: { 0: 'No route to destination', 1: 'Administratively prohibited', 3: 'Address unreachable', 4: 'Port unreachable' },
  3: { 0: 'Hop limit exceeded in transit', 1: 'Fragment reassembly time exceeded' },
  4: { 0: 'Erroneous header field', 1: 'Unrecognized next header', 2: 'Unrecognized IPv6 option' },
};

export const ICMPV6 = {
  type: {
    id: 'icmpv6.type',
    name: 'Type',
    offset: 0,
    length: 1,
    format: 'dec',
    values: ICMPV6_TYPES,
    note: "1-127 are errors, 128 and up informational: 128/129 echo (ping), 133-137 neighbour discovery (IPv6's ARP and router discovery).",
  },
  code: { id: 'icmpv6.code', name: 'Code', offset: 1, length: 1, format: 'dec', note: 'Refines the type: for type 1, code 4 is "port unreachable".' },
  checksum: {
    id: 'icmpv6.checksum',
    name: 'Checksum',
    offset: 2,
    length: 2,
    format: 'hex',
    note: 'Unlike ICMP for IPv4 it covers a pseudo-header too (addresses, length, next header 58), as TCP and UDP do.',
  },
  ident: { id: 'icmpv6.echo.identifier', name: 'Identifier', offset: 4, length: 2, format: 'dec', note: 'Matches replies to the pinging program.' },
  seq: { id: 'icmpv6.echo.sequence_number', name: 'Sequence number', offset: 6, length: 2, format: 'dec', note: 'Counts the requests.' },
  reserved: { id: 'icmpv6.reserved', name: 'Reserved', offset: 4, length: 4, format: 'bytes', note: 'Zero.' },
  mtu: {
    id: 'icmpv6.mtu',
    name: 'MTU',
    offset: 4,
    length: 4,
    format: 'dec',
    unit: 'bytes',
    note: "The next link's MTU: in IPv6 routers never fragment, the sender must send smaller packets.",
  },
  pointer: { id: 'icmpv6.pointer', name: 'Pointer', offset: 4, length: 4, format: 'dec', note: 'Offset of the problem in the quoted packet.' },
  nsTarget: {
    id: 'icmpv6.nd.ns.target_address',
    name: 'Target address',
    offset: 8,
    length: 16,
    format: 'ipv6',
    note: 'The address whose MAC address is asked for (IPv6\'s "who has", sent to a multicast group instead of broadcast).',
  },
  naFlags: {
    id: 'icmpv6.nd.na.flag',
    name: 'Flags',
    offset: 4,
    length: 4,
    format: 'hex',
    children: [
      { id: 'icmpv6.nd.na.flag.r', name: 'Router', offset: 4, length: 4, mask: 0x80000000, format: 'flag', note: 'The sender is a router.' },
      { id: 'icmpv6.nd.na.flag.s', name: 'Solicited', offset: 4, length: 4, mask: 0x40000000, format: 'flag', note: 'An answer to a neighbour solicitation.' },
      { id: 'icmpv6.nd.na.flag.o', name: 'Override', offset: 4, length: 4, mask: 0x20000000, format: 'flag', note: 'Replace a cached MAC address.' },
    ],
  },
  naTarget: {
    id: 'icmpv6.nd.na.target_address',
    name: 'Target address',
    offset: 8,
    length: 16,
    format: 'ipv6',
    note: 'The address this answer is about ("is at" the link-layer address option).',
  },
} as const satisfies Record<string, FieldSpec>;

const ICMPV6_NOTE =
  "ICMPv6 does ICMP's job for IPv6 (ping, errors) and more: neighbour discovery replaces ARP (neighbour solicitation and advertisement) and " +
  'hosts find routers and prefixes with router solicitations and advertisements. Without it IPv6 does not work, so firewalls must let it through.';

/** What an ICMP layer says about the datagram it quotes (for linking an error to its flow). */
export interface IcmpInfo {
  type: number;
  code: number;
  /** Echo identifier and sequence number. */
  echo?: { ident: number; seq: number };
  /** Where the quoted datagram starts, for errors. */
  quoteAt?: number;
}

function codeText(f: PacketField, codes: Readonly<Record<number, Readonly<Record<number, string>>>>, type: number, code: number): void {
  const meaning = codes[type]?.[code];
  if (meaning) f.text = `${meaning} (${code})`;
}

function dataField(b: Uint8Array, at: number, end: number, fields: PacketField[], note: string): void {
  if (end > at) fields.push(spanField('data.data', 'Data', b, at, end - at, `${end - at} bytes`, note));
}

const DAY_S = 86_400;

/**
 * The send time many ping programs put at the start of the echo data (a struct timeval: seconds and
 * microseconds, in either byte order), recognised as Wireshark does: it must lie within a day of the
 * frame's own time. Returns the time in microseconds since the epoch.
 */
function echoTimestamp(b: Uint8Array, at: number, end: number, frameUs: number | undefined): number | undefined {
  if (frameUs === undefined || end - at < 8) return undefined;
  const frameS = Math.floor(frameUs / 1e6);
  const view = new DataView(b.buffer, b.byteOffset + at, 8);
  for (const le of [false, true]) {
    const s = view.getUint32(0, le);
    const us = view.getUint32(4, le);
    // Wireshark compares as signed 32-bit seconds.
    if (Math.abs((s - frameS) | 0) < DAY_S && us < 1_000_000) return s * 1e6 + us;
  }
  return undefined;
}

export function decodeIcmp(b: Uint8Array, at: number, end: number, messageEnd: number, ip: IpContext, frameUs?: number): LayerResult & { info?: IcmpInfo } {
  const common = [ICMP.type, ICMP.code, ICMP.checksum];
  const { fields, missing } = decodeFields(common, b, at, end);
  const layer: PacketLayer = { id: 'icmp', name: 'ICMP', offset: at, length: Math.min(8, end - at), summary: '', note: ICMP_NOTE, fields, problems: [] };
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('ICMP', missing, 4, end - at));
    layer.summary = 'ICMP (cut short)';
    return { layer };
  }
  const type = readField(ICMP.type, b, at);
  const code = readField(ICMP.code, b, at);
  codeText(fields[1], ICMP_CODES, type, code);
  const info: IcmpInfo = { type, code };
  const stop = Math.min(end, messageEnd);
  if (ip.fragmented) fields[2].check = { status: 'unverified', text: 'not verified: the rest of the message is in other fragments' };
  else if (messageEnd > end) fields[2].check = { status: 'unverified', text: 'not verified: the message was not captured whole' };
  else {
    fields[2].check = verifyChecksum(b, at, messageEnd, at + ICMP.checksum.offset, 0, 'header');
    if (fields[2].check.status === 'bad') layer.problems.push(`checksum ${fields[2].check.text}`);
  }
  let body: readonly FieldSpec[] = [];
  if (type === 0 || type === 8) body = [ICMP.ident, ICMP.seq];
  else if (type === 3 && code === 4) body = [ICMP.unusedShort, ICMP.mtu];
  else if (type === 3 || type === 4 || type === 11) body = [ICMP.unused];
  else if (type === 12) body = [ICMP.pointer];
  else if (type === 5) body = [ICMP.gateway];
  const rest = decodeFields(body, b, at, stop);
  fields.push(...rest.fields);
  if (rest.missing !== undefined) layer.problems.push(truncatedProblem('ICMP', rest.missing, 8, stop - at));
  const typeName = ICMP_TYPES[type] ?? `type ${type}`;
  layer.summary = `${typeName}${ICMP_CODES[type]?.[code] ? `: ${ICMP_CODES[type][code]}` : ''}`;
  if (type === 0 || type === 8) {
    if (rest.missing === undefined) {
      info.echo = { ident: readField(ICMP.ident, b, at), seq: readField(ICMP.seq, b, at) };
      layer.summary += ` id ${info.echo.ident} seq ${info.echo.seq}`;
      const sent = ip.quoted ? undefined : echoTimestamp(b, at + 8, stop, frameUs);
      if (sent !== undefined) {
        const when = new Date(Math.floor(sent / 1000)).toISOString();
        fields.push({
          id: 'icmp.data_time',
          name: 'Timestamp from the data',
          offset: at + 8,
          length: 8,
          raw: hexOf(b, at + 8, at + 16),
          value: sent / 1000,
          text: `${when.slice(0, 19)}.${String(sent % 1e6).padStart(6, '0')}Z`,
          note: 'ping wrote the time it sent the request here; the reply echoes it, and ping subtracts it from the arrival time: that is the "time=" it prints.',
        });
        dataField(b, at + 16, stop, fields, 'The rest of the data: filler bytes, echoed back unchanged.');
      } else dataField(b, at + 8, stop, fields, 'Whatever the pinging program put in; the reply echoes it back unchanged.');
    }
    return { layer, info };
  }
  if (ICMP_ERRORS.has(type) && stop > at + 8) {
    info.quoteAt = at + 8;
    layer.summary += ' (quoting the datagram it is about)';
    return { layer, info, next: { type: 4, offset: at + 8, end: stop } };
  }
  return { layer, info };
}

export function decodeIcmpv6(b: Uint8Array, at: number, end: number, messageEnd: number, ip: IpContext): LayerResult & { info?: IcmpInfo } {
  const common = [ICMPV6.type, ICMPV6.code, ICMPV6.checksum];
  const { fields, missing } = decodeFields(common, b, at, end);
  const layer: PacketLayer = { id: 'icmpv6', name: 'ICMPv6', offset: at, length: Math.min(8, end - at), summary: '', note: ICMPV6_NOTE, fields, problems: [] };
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('ICMPv6', missing, 4, end - at));
    layer.summary = 'ICMPv6 (cut short)';
    return { layer };
  }
  const type = readField(ICMPV6.type, b, at);
  const code = readField(ICMPV6.code, b, at);
  codeText(fields[1], ICMPV6_CODES, type, code);
  const info: IcmpInfo = { type, code };
  const stop = Math.min(end, messageEnd);
  if (ip.fragmented) fields[2].check = { status: 'unverified', text: 'not verified: the rest of the message is in other fragments' };
  else if (messageEnd > end) fields[2].check = { status: 'unverified', text: 'not verified: the message was not captured whole' };
  else {
    fields[2].check = verifyChecksum(b, at, messageEnd, at + ICMPV6.checksum.offset, pseudoSum(b, ip, 58, messageEnd - at), 'header');
    if (fields[2].check.status === 'bad') layer.problems.push(`checksum ${fields[2].check.text}`);
  }
  let body: readonly FieldSpec[] = [];
  if (type === 128 || type === 129) body = [ICMPV6.ident, ICMPV6.seq];
  else if (type === 1 || type === 3) body = [ICMPV6.reserved];
  else if (type === 2) body = [ICMPV6.mtu];
  else if (type === 4) body = [ICMPV6.pointer];
  else if (type === 135) body = [ICMPV6.reserved, ICMPV6.nsTarget];
  else if (type === 136) body = [ICMPV6.naFlags, ICMPV6.naTarget];
  const rest = decodeFields(body, b, at, stop);
  fields.push(...rest.fields);
  if (rest.missing !== undefined) layer.problems.push(truncatedProblem('ICMPv6', rest.missing, 8, stop - at));
  layer.summary = `${ICMPV6_TYPES[type] ?? `type ${type}`}${ICMPV6_CODES[type]?.[code] ? `: ${ICMPV6_CODES[type][code]}` : ''}`;
  if (rest.missing !== undefined) return { layer, info };
  if (type === 128 || type === 129) {
    info.echo = { ident: readField(ICMPV6.ident, b, at), seq: readField(ICMPV6.seq, b, at) };
    layer.summary += ` id ${info.echo.ident} seq ${info.echo.seq}`;
    dataField(b, at + 8, stop, fields, 'Echoed back unchanged by the reply.');
  } else if (type === 135 || type === 136) {
    const target = fields[fields.length - 1];
    layer.summary += type === 135 ? ` for ${target.text}` : ` ${target.text}`;
    if (stop > at + 24) {
      const opts = spanField(
        'labnet.icmpv6.options',
        'Options',
        b,
        at + 24,
        stop - at - 24,
        `${stop - at - 24} bytes`,
        "Neighbour discovery options, such as the sender's link-layer (MAC) address.",
      );
      fields.push(opts);
    }
  } else if (type < 128 && stop > at + 8) {
    info.quoteAt = at + 8;
    layer.summary += ' (quoting the packet it is about)';
    return { layer, info, next: { type: 6, offset: at + 8, end: stop } };
  }
  return { layer, info };
}
