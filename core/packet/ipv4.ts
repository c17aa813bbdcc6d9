// IPv4 (RFC 791) with its options and fragments; the header checksum verified (RFC 1071).
import { verifyChecksum } from './checksum.js';
import { decodeField, decodeFields, formatIpv4, readField, spanField, type FieldSpec, type PacketField } from './field-table.js';
import { truncatedProblem, type LayerResult } from './layer.js';

export const IP_PROTOCOLS: Readonly<Record<number, string>> = {
  0: 'IPv6 hop-by-hop options',
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPv4 in IPv4',
  6: 'TCP',
  17: 'UDP',
  41: 'IPv6',
  43: 'IPv6 routing header',
  44: 'IPv6 fragment header',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  59: 'no next header',
  60: 'IPv6 destination options',
  89: 'OSPF',
  132: 'SCTP',
};

export const IPV4 = {
  version: {
    id: 'ip.version',
    name: 'Version',
    offset: 0,
    length: 1,
    mask: 0xf0,
    format: 'dec',
    values: { 4: 'IPv4' },
    note: '4 bits: 4 for IPv4 (an IPv6 packet says 6).',
  },
  hdrLen: {
    id: 'ip.hdr_len',
    name: 'Header length (IHL)',
    offset: 0,
    length: 1,
    mask: 0x0f,
    format: 'dec',
    scale: 4,
    unit: 'bytes',
    note: 'IHL, 4 bits, counted in 4-byte words: 5 is the 20-byte header without options, 15 the largest, 60 bytes (40 bytes of options).',
  },
  dsfield: {
    id: 'ip.dsfield',
    name: 'Differentiated services',
    offset: 1,
    length: 1,
    format: 'hex',
    note:
      'The course describes the old Type of Service byte (3 priority bits, then delay, throughput, reliability and cost, one bit unused). ' +
      'Since RFC 2474 (1998) it is a 6-bit DSCP (which forwarding class) and 2 ECN bits (RFC 3168, congestion signalling): no bit is unused.',
    children: [
      {
        id: 'ip.dsfield.dscp',
        name: 'DSCP',
        offset: 1,
        length: 1,
        mask: 0xfc,
        format: 'dec',
        values: {
          0: 'Default (best effort)',
          8: 'CS1 (low priority)',
          10: 'AF11',
          18: 'AF21',
          26: 'AF31',
          34: 'AF41',
          46: 'EF (expedited: voice)',
          48: 'CS6 (network control)',
        },
        note: 'Differentiated services code point (6 bits): the forwarding class routers may give the packet.',
      },
      {
        id: 'ip.dsfield.ecn',
        name: 'ECN',
        offset: 1,
        length: 1,
        mask: 0x03,
        format: 'dec',
        values: { 0: 'Not ECN-capable', 1: 'ECN-capable (ECT 1)', 2: 'ECN-capable (ECT 0)', 3: 'Congestion experienced (CE)' },
        note: 'Explicit congestion notification (2 bits): a congested router can mark the packet instead of dropping it.',
      },
    ],
  },
  len: {
    id: 'ip.len',
    name: 'Total length',
    offset: 2,
    length: 2,
    format: 'dec',
    unit: 'bytes',
    note:
      "Header plus data, in bytes (at most 65535). Ethernet padding after it is not part of the packet. The course's 'sliced above 1500' is the " +
      "link's MTU: a datagram larger than the MTU is fragmented (unless DF is set); the 46-byte minimum is padded at the Ethernet layer, not here.",
  },
  id: {
    id: 'ip.id',
    name: 'Identification',
    offset: 4,
    length: 2,
    format: 'hex',
    note: 'Set by the sender per datagram; every fragment of one datagram carries the same value, so the receiver knows which pieces belong together.',
  },
  flags: {
    id: 'ip.flags',
    name: 'Flags',
    offset: 6,
    length: 1,
    mask: 0xe0,
    format: 'hex',
    note: 'Three bits: reserved, DF (do not fragment), MF (more fragments).',
    children: [
      { id: 'ip.flags.rb', name: 'Reserved bit', offset: 6, length: 1, mask: 0x80, format: 'flag', note: 'Must be 0.' },
      {
        id: 'ip.flags.df',
        name: "Don't fragment (DF)",
        offset: 6,
        length: 1,
        mask: 0x40,
        format: 'flag',
        values: { 1: 'do not fragment', 0: 'may be fragmented' },
        note:
          'Set (1) means the packet must NOT be fragmented: a router whose next link is too small drops it and sends back ICMP "fragmentation ' +
          'needed" with its MTU (that is how path MTU discovery works; TCP sets DF on every segment). 0 means routers may fragment it.',
      },
      {
        id: 'ip.flags.mf',
        name: 'More fragments (MF)',
        offset: 6,
        length: 1,
        mask: 0x20,
        format: 'flag',
        values: { 1: 'more fragments follow' },
        note:
          'Set on every fragment except the last. MF 0 with fragment offset 0 means the datagram was not fragmented; MF 0 with a non-zero offset is ' +
          'the last fragment. So MF alone does not say whether a datagram was fragmented, as the course suggests: look at the offset too.',
      },
    ],
  },
  fragOffset: {
    id: 'ip.frag_offset',
    name: 'Fragment offset',
    offset: 6,
    length: 2,
    mask: 0x1fff,
    format: 'dec',
    scale: 8,
    unit: 'bytes',
    filterRaw: true,
    note: "13 bits counted in 8-byte units: where this fragment's data belongs in the original datagram (185 means byte 1480). That is why every fragment but the last carries a multiple of 8 bytes.",
  },
  ttl: {
    id: 'ip.ttl',
    name: 'Time to live (TTL)',
    offset: 8,
    length: 1,
    format: 'dec',
    note:
      'Every router lowers it by one and drops the packet when it reaches 0, sending ICMP "time exceeded" back (traceroute relies on this). It limits ' +
      'hops, not time. Linux starts at 64, Windows at 128.',
  },
  proto: {
    id: 'ip.proto',
    name: 'Protocol',
    offset: 9,
    length: 1,
    format: 'dec',
    values: IP_PROTOCOLS,
    note: 'What the data is: 1 ICMP, 2 IGMP, 6 TCP, 17 UDP.',
  },
  checksum: {
    id: 'ip.checksum',
    name: 'Header checksum',
    offset: 10,
    length: 2,
    format: 'hex',
    note: "One's complement sum over the header only, not the data (TCP and UDP have their own). Every router recomputes it, because the TTL changes at every hop.",
  },
  src: { id: 'ip.src', name: 'Source address', offset: 12, length: 4, format: 'ipv4', note: "The sender's IPv4 address (32 bits)." },
  dst: {
    id: 'ip.dst',
    name: 'Destination address',
    offset: 16,
    length: 4,
    format: 'ipv4',
    note: 'The IPv4 address of the final destination (32 bits); routers forward by it.',
  },
} as const satisfies Record<string, FieldSpec>;

const IPV4_TABLE: readonly FieldSpec[] = [
  IPV4.version,
  IPV4.hdrLen,
  IPV4.dsfield,
  IPV4.len,
  IPV4.id,
  IPV4.flags,
  IPV4.fragOffset,
  IPV4.ttl,
  IPV4.proto,
  IPV4.checksum,
  IPV4.src,
  IPV4.dst,
];
export const IPV4_MIN_HEADER = 20;

const IPV4_NOTE =
  'The IPv4 header: 20 bytes, plus up to 40 bytes of options, in front of every datagram. It carries what routers need to deliver it across ' +
  'networks: addresses, a hop limit, and what to do when the datagram is larger than the next link allows (fragmentation).';

// Options (RFC 791 section 3.1). Each option starts with a type byte; all but EOL and NOP have a length.
const OPTION_NAMES: Readonly<Record<number, { id: string; name: string; note: string }>> = {
  0: { id: 'ip.options.eol', name: 'End of options list', note: 'Marks the end of the options; the rest of the header is padding.' },
  1: { id: 'ip.options.nop', name: 'No operation', note: 'One byte of filler, used to align the next option.' },
  7: {
    id: 'ip.options.record_route',
    name: 'Record route',
    note: 'Each router (and the destination) writes its address into the next free slot: `ping -R` shows the path. Only 9 slots fit in 40 bytes.',
  },
  68: { id: 'ip.options.timestamp', name: 'Timestamp', note: 'Routers note the time (in ms since midnight UT) they handled the packet: `ping -T tsonly`.' },
  131: { id: 'ip.options.route', name: 'Loose source route', note: 'The sender lists routers the packet must pass; nearly every network refuses these today.' },
  137: { id: 'ip.options.source_route', name: 'Strict source route', note: 'The exact list of routers to take; refused almost everywhere today.' },
  148: { id: 'ip.options.routeralert', name: 'Router alert', note: 'Asks every router to look at the packet (IGMP, RSVP).' },
};

export const IPV4_OPTION = {
  type: {
    id: 'ip.opt.type',
    name: 'Option type',
    offset: 0,
    length: 1,
    format: 'dec',
    children: [
      {
        id: 'ip.opt.type.copy',
        name: 'Copy on fragmentation',
        offset: 0,
        length: 1,
        mask: 0x80,
        format: 'flag',
        note: 'Set: every fragment carries this option, not only the first.',
      },
      { id: 'ip.opt.type.class', name: 'Class', offset: 0, length: 1, mask: 0x60, format: 'dec', values: { 0: 'Control', 2: 'Debugging and measurement' } },
      { id: 'ip.opt.type.number', name: 'Number', offset: 0, length: 1, mask: 0x1f, format: 'dec' },
    ],
  },
  len: {
    id: 'ip.opt.len',
    name: 'Option length',
    offset: 1,
    length: 1,
    format: 'dec',
    unit: 'bytes',
    note: 'The whole option, type and length bytes included.',
  },
  ptr: {
    id: 'ip.opt.ptr',
    name: 'Pointer',
    offset: 2,
    length: 1,
    format: 'dec',
    note: "Where the next entry goes, counted from 1 at the option's type byte. Entries before it have been filled in.",
  },
  tsFlags: [
    { id: 'ip.opt.overflow', name: 'Overflow', offset: 3, length: 1, mask: 0xf0, format: 'dec', note: 'Routers that found no free slot.' },
    {
      id: 'ip.opt.flag',
      name: 'Flag',
      offset: 3,
      length: 1,
      mask: 0x0f,
      format: 'hex',
      values: { 0: 'timestamps only', 1: 'address and timestamp', 3: 'prespecified addresses' },
    },
  ],
  ra: { id: 'ip.opt.ra', name: 'Router alert value', offset: 2, length: 2, format: 'dec', values: { 0: 'Router shall examine packet' } },
} as const satisfies Record<string, FieldSpec | readonly FieldSpec[]>;

/** Decodes the options in b[from, to) (at most 40 bytes, so the loop is bounded by 40 iterations). */
function decodeOptions(b: Uint8Array, from: number, to: number, problems: string[]): PacketField[] {
  const out: PacketField[] = [];
  let at = from;
  while (at < to) {
    const type = b[at];
    const known = OPTION_NAMES[type];
    if (type === 0 || type === 1) {
      const f = spanField(known.id, known.name, b, at, 1, undefined, known.note);
      f.children = [decodeField(IPV4_OPTION.type, b, at)];
      out.push(f);
      at++;
      if (type === 0) {
        if (at < to)
          out.push(
            spanField('labnet.ip.opt.padding', 'Padding', b, at, to - at, `${to - at} bytes`, 'Zero bytes filling the header up to a multiple of 4 bytes.'),
          );
        break;
      }
      continue;
    }
    if (at + 1 >= to) {
      problems.push(`option ${type} has no length byte`);
      break;
    }
    const len = b[at + 1];
    if (len < 2 || at + len > to) {
      problems.push(`option ${type} has a bad length ${len}`);
      out.push(spanField('labnet.ip.options.malformed', 'Malformed option', b, at, to - at, `${to - at} bytes`));
      break;
    }
    const f = spanField(known?.id ?? 'labnet.ip.options.unknown', known?.name ?? `Option ${type}`, b, at, len, undefined, known?.note);
    const children: PacketField[] = [decodeField(IPV4_OPTION.type, b, at), decodeField(IPV4_OPTION.len, b, at)];
    if ((type === 7 || type === 131 || type === 137) && len >= 3) {
      children.push(decodeField(IPV4_OPTION.ptr, b, at));
      const ptr = b[at + 2];
      for (let slot = 3; slot + 4 <= len; slot += 4) {
        const filled = slot + 1 < ptr;
        const addr = formatIpv4(b, at + slot);
        const id = type === 7 ? (filled ? 'ip.rec_rt' : 'ip.empty_rt') : 'ip.src_rt';
        const name = type === 7 ? (filled ? 'Recorded address' : 'Empty slot') : 'Route address';
        children.push({ id, name, offset: at + slot, length: 4, raw: addr, value: addr, text: addr });
      }
    } else if (type === 68 && len >= 4) {
      children.push(decodeField(IPV4_OPTION.ptr, b, at), ...IPV4_OPTION.tsFlags.map((s) => decodeField(s, b, at)));
    } else if (type === 148 && len === 4) {
      children.push(decodeField(IPV4_OPTION.ra, b, at));
    }
    f.children = children;
    out.push(f);
    at += len;
  }
  return out;
}

export interface Ipv4Info {
  headerLength: number;
  totalLength: number;
  protocol: number;
  src: string;
  dst: string;
  id: number;
  moreFragments: boolean;
  /** Fragment offset in bytes. */
  fragmentOffset: number;
}

export function decodeIpv4(b: Uint8Array, at: number, end: number): LayerResult & { info?: Ipv4Info } {
  const { fields, missing } = decodeFields(IPV4_TABLE, b, at, end);
  const layer = {
    id: 'ip',
    name: 'IPv4',
    offset: at,
    length: Math.min(IPV4_MIN_HEADER, end - at),
    summary: '',
    note: IPV4_NOTE,
    fields,
    problems: [] as string[],
  };
  if (missing !== undefined) {
    layer.problems.push(truncatedProblem('IPv4', missing, IPV4_MIN_HEADER, end - at));
    layer.summary = 'IPv4 (cut short)';
    return { layer };
  }
  const version = readField(IPV4.version, b, at);
  const headerLength = readField(IPV4.hdrLen, b, at) * 4;
  const totalLength = readField(IPV4.len, b, at);
  if (version !== 4) layer.problems.push(`version ${version} in an IPv4 header`);
  if (headerLength < IPV4_MIN_HEADER) {
    layer.problems.push(`header length ${headerLength} bytes is less than the 20-byte minimum`);
    layer.summary = 'IPv4 (bad header length)';
    return { layer };
  }
  layer.length = Math.min(headerLength, end - at);
  const checksumField = fields.find((f) => f.id === IPV4.checksum.id)!;
  if (at + headerLength <= end) {
    checksumField.check = verifyChecksum(b, at, at + headerLength, at + IPV4.checksum.offset, 0, 'header');
    if (checksumField.check.status === 'bad') layer.problems.push(`header checksum ${checksumField.check.text}`);
    if (headerLength > IPV4_MIN_HEADER) {
      const opts = spanField(
        'labnet.ip.options',
        'Options',
        b,
        at + IPV4_MIN_HEADER,
        headerLength - IPV4_MIN_HEADER,
        `${headerLength - IPV4_MIN_HEADER} bytes`,
      );
      opts.note = 'Present only when IHL is more than 5: up to 40 bytes. Rare today, because routers handle optioned packets slowly or drop them.';
      opts.children = decodeOptions(b, at + IPV4_MIN_HEADER, at + headerLength, layer.problems);
      fields.push(opts);
    }
  } else {
    checksumField.check = { status: 'unverified', text: 'not verified: the header was not captured whole' };
    layer.problems.push(truncatedProblem('IPv4', 'Options', headerLength, end - at));
  }
  if (totalLength < headerLength) layer.problems.push(`total length ${totalLength} is less than the header length ${headerLength}`);
  const info: Ipv4Info = {
    headerLength,
    totalLength,
    protocol: readField(IPV4.proto, b, at),
    src: formatIpv4(b, at + IPV4.src.offset),
    dst: formatIpv4(b, at + IPV4.dst.offset),
    id: readField(IPV4.id, b, at),
    moreFragments: readField(IPV4.flags.children[2], b, at) === 1,
    fragmentOffset: readField(IPV4.fragOffset, b, at) * 8,
  };
  const fragment = info.moreFragments || info.fragmentOffset > 0;
  const protoName = IP_PROTOCOLS[info.protocol] ?? `protocol ${info.protocol}`;
  layer.summary =
    `${info.src} -> ${info.dst}, TTL ${readField(IPV4.ttl, b, at)}, ${protoName}` +
    (fragment
      ? `, fragment id 0x${info.id.toString(16).padStart(4, '0')} bytes ${info.fragmentOffset}-${info.fragmentOffset + totalLength - headerLength - 1}${info.moreFragments ? ' (more follow)' : ' (last)'}`
      : '');
  const datagramEnd = at + Math.max(totalLength, headerLength);
  // A non-first fragment carries the middle of the datagram: no transport header to decode.
  const next = info.fragmentOffset > 0 ? undefined : { type: info.protocol, offset: at + headerLength, end: datagramEnd };
  return { layer, next, info };
}
