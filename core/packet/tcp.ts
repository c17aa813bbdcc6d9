// TCP (RFC 9293) with its options: MSS, window scale and timestamps (RFC 7323), SACK (RFC 2018).
import { verifyChecksum } from './checksum.js';
import { decodeField, decodeFields, readField, readUint, spanField, type FieldSpec, type PacketField } from './field-table.js';
import { truncatedProblem, type LayerResult } from './layer.js';
import { pseudoSum, type IpContext } from './transport.js';

const flag = (id: string, name: string, mask: number, note: string): FieldSpec => ({ id, name, offset: 12, length: 2, mask, format: 'flag', note });

export const TCP = {
  srcport: {
    id: 'tcp.srcport',
    name: 'Source port',
    offset: 0,
    length: 2,
    format: 'dec',
    note: "The sending application's port (16 bits). A client's is picked by its system (the ephemeral port).",
  },
  dstport: {
    id: 'tcp.dstport',
    name: 'Destination port',
    offset: 2,
    length: 2,
    format: 'dec',
    note: "The receiving application's port: 25 SMTP, 80 HTTP, 110 POP3, 143 IMAP, 443 HTTPS.",
  },
  seq: {
    id: 'tcp.seq',
    name: 'Sequence number',
    offset: 4,
    length: 4,
    format: 'dec',
    note:
      'The number of the first data byte in this segment (32 bits): every byte sent has a number. The count does not start at 0 but at a random ' +
      'initial sequence number (ISN) picked at the SYN, so the view also shows it relative to that, as Wireshark does. After 2^32 it wraps to 0.',
  },
  ack: {
    id: 'tcp.ack',
    name: 'Acknowledgement number',
    offset: 8,
    length: 4,
    format: 'dec',
    note: 'The next byte this side expects from the other (everything before it arrived): after receiving bytes 0-999 it says 1000. Valid only when ACK is set.',
  },
  hdrLen: {
    id: 'tcp.hdr_len',
    name: 'Header length (data offset)',
    offset: 12,
    length: 1,
    mask: 0xf0,
    format: 'dec',
    scale: 4,
    unit: 'bytes',
    note: "Data offset, 4 bits in 4-byte words like IPv4's IHL: 5 is the 20-byte header without options, 15 the largest, 60 bytes.",
  },
  flags: {
    id: 'tcp.flags',
    name: 'Flags',
    offset: 12,
    length: 2,
    mask: 0x0fff,
    format: 'hex',
    note: '12 bits: 3 reserved, then AE, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN.',
    children: [
      flag('tcp.flags.res', 'Reserved', 0x0e00, 'Must be 0. The course counts 6 reserved bits: three of them have since become the ECN flags AE, CWR and ECE.'),
      flag('tcp.flags.ae', 'Accurate ECN (AE)', 0x0100, 'Accurate ECN (RFC 9768; formerly the NS bit).'),
      flag('tcp.flags.cwr', 'Congestion window reduced (CWR)', 0x0080, 'The sender slowed down after an ECN congestion signal (RFC 3168).'),
      flag('tcp.flags.ece', 'ECN echo (ECE)', 0x0040, 'A router marked congestion on the way here; please slow down (RFC 3168).'),
      flag('tcp.flags.urg', 'Urgent (URG)', 0x0020, 'The urgent pointer is valid. Hardly used today (telnet interrupts).'),
      flag('tcp.flags.ack', 'Acknowledgement (ACK)', 0x0010, 'The acknowledgement number is valid: set on every segment except the very first SYN.'),
      flag(
        'tcp.flags.push',
        'Push (PSH)',
        0x0008,
        'Hand the data to the application now. Senders set it at the end of each write; receivers deliver promptly anyway, so it matters little today.',
      ),
      flag(
        'tcp.flags.reset',
        'Reset (RST)',
        0x0004,
        'Abort the connection at once: nothing listens on the port, or something went wrong. Unlike FIN it is no goodbye: data in flight is lost. ' +
          'Nothing is re-established by itself, as the course suggests: the application must open a new connection.',
      ),
      flag(
        'tcp.flags.syn',
        'Synchronise (SYN)',
        0x0002,
        'Opens a connection: the first two segments of the three-way handshake carry it (SYN, then SYN+ACK), each announcing its initial sequence number. A SYN counts as one byte.',
      ),
      flag(
        'tcp.flags.fin',
        'Finish (FIN)',
        0x0001,
        'This side has no more data to send. Each direction closes on its own, hence four segments (FIN, ACK, FIN, ACK; often the middle two are one). A FIN counts as one byte.',
      ),
    ],
  },
  window: {
    id: 'tcp.window_size_value',
    name: 'Window',
    offset: 14,
    length: 2,
    format: 'dec',
    note:
      'How many more bytes the sender of this segment can take (its free receive buffer), counted from the acknowledgement number; with the window ' +
      'scale option multiply it by 2^shift. It limits data in flight, not the size of the next message as the course puts it.',
  },
  checksum: {
    id: 'tcp.checksum',
    name: 'Checksum',
    offset: 16,
    length: 2,
    format: 'hex',
    note: 'Covers a pseudo-header (addresses, protocol, length), the TCP header and the data. A capture on the sending machine often sees it before the network card fills it in (offload).',
  },
  urgent: {
    id: 'tcp.urgent_pointer',
    name: 'Urgent pointer',
    offset: 18,
    length: 2,
    format: 'dec',
    note: 'Where urgent data ends, counted from the sequence number; only meaningful with URG.',
  },
} as const satisfies Record<string, FieldSpec>;

const TCP_TABLE: readonly FieldSpec[] = Object.values(TCP);
export const TCP_MIN_HEADER = 20;

const TCP_NOTE =
  "TCP turns IP's datagrams into a reliable byte stream between two ports: sequence numbers count bytes, acknowledgements say what arrived, lost " +
  'segments are sent again, and the window keeps a fast sender from flooding a slow receiver. A connection opens with the three-way handshake (SYN, ' +
  'SYN+ACK, ACK) and each side closes its direction with a FIN.';

export const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'AE'] as const;

/** The flags of a 12-bit flag word as names, lowest bit first as Wireshark writes them ("SYN, ACK"). */
export function tcpFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < TCP_FLAG_NAMES.length; i++) if (flags & (1 << i)) out.push(TCP_FLAG_NAMES[i]);
  return out;
}

// Options (RFC 9293 section 3.1): kind, length, value; kinds 0 (end) and 1 (no-op) are one byte.
export const TCP_OPTION = {
  kind: { id: 'tcp.option_kind', name: 'Kind', offset: 0, length: 1, format: 'dec' },
  len: { id: 'tcp.option_len', name: 'Length', offset: 1, length: 1, format: 'dec', unit: 'bytes', note: 'The whole option, kind and length bytes included.' },
  mss: { id: 'tcp.options.mss_val', name: 'MSS', offset: 2, length: 2, format: 'dec', unit: 'bytes' },
  wscale: { id: 'tcp.options.wscale.shift', name: 'Shift count', offset: 2, length: 1, format: 'dec' },
  tsval: {
    id: 'tcp.options.timestamp.tsval',
    name: 'Timestamp value (TSval)',
    offset: 2,
    length: 4,
    format: 'dec',
    note: "The sender's clock when it sent this segment.",
  },
  tsecr: {
    id: 'tcp.options.timestamp.tsecr',
    name: 'Timestamp echo (TSecr)',
    offset: 6,
    length: 4,
    format: 'dec',
    note: 'The TSval last received from the other side, echoed back: the difference is the round-trip time.',
  },
} as const satisfies Record<string, FieldSpec>;

const OPTION_KINDS: Readonly<Record<number, { id: string; name: string; note: string }>> = {
  0: { id: 'tcp.options.eol', name: 'End of option list', note: 'The options end here; the rest up to the data offset is padding.' },
  1: { id: 'tcp.options.nop', name: 'No-operation', note: 'One byte of filler so that the next option starts on a 4-byte boundary.' },
  2: {
    id: 'tcp.options.mss',
    name: 'Maximum segment size',
    note: 'The largest block of data this side can receive in one segment; only in SYNs. 1460 on Ethernet: 1500 MTU - 20 IP - 20 TCP. Loopback allows 65495.',
  },
  3: {
    id: 'tcp.options.wscale',
    name: 'Window scale',
    note: 'The window field is only 16 bits (64 KB); this shift multiplies it by 2^shift. Only in SYNs, and used only if both SYNs carry it.',
  },
  4: { id: 'tcp.options.sack_perm', name: 'SACK permitted', note: 'This side understands selective acknowledgements. Only in SYNs.' },
  5: {
    id: 'tcp.options.sack',
    name: 'SACK',
    note: 'Selective acknowledgement: byte ranges received beyond the acknowledgement number (after a loss), so the sender resends only the gaps.',
  },
  8: {
    id: 'tcp.options.timestamp',
    name: 'Timestamps',
    note: 'For measuring the round-trip time and telling old segments from new ones once sequence numbers wrap (PAWS).',
  },
};

export interface TcpOptionsInfo {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  sack?: Array<[number, number]>;
  tsval?: number;
  tsecr?: number;
}

/** Reads the options in b[from, to): one pass, each option at least one byte, so at most 40 steps. */
export function tcpOptions(b: Uint8Array, from: number, to: number, fields?: PacketField[], problems?: string[]): TcpOptionsInfo {
  const info: TcpOptionsInfo = {};
  let at = from;
  while (at < to) {
    const kind = b[at];
    const known = OPTION_KINDS[kind];
    if (kind === 0 || kind === 1) {
      if (fields) {
        const f = spanField(known.id, known.name, b, at, 1, undefined, known.note);
        f.children = [decodeField(TCP_OPTION.kind, b, at)];
        fields.push(f);
      }
      at++;
      if (kind === 0) break;
      continue;
    }
    const len = at + 1 < to ? b[at + 1] : 0;
    if (len < 2 || at + len > to) {
      problems?.push(`option kind ${kind} has a bad length ${len}`);
      fields?.push(spanField('tcp.options.unknown.payload', 'Malformed option', b, at, to - at, `${to - at} bytes`));
      break;
    }
    const children: PacketField[] | undefined = fields ? [decodeField(TCP_OPTION.kind, b, at), decodeField(TCP_OPTION.len, b, at)] : undefined;
    if (kind === 2 && len === 4) {
      info.mss = readField(TCP_OPTION.mss, b, at);
      children?.push(decodeField(TCP_OPTION.mss, b, at));
    } else if (kind === 3 && len === 3) {
      info.wscale = readField(TCP_OPTION.wscale, b, at);
      if (children) {
        const f = decodeField(TCP_OPTION.wscale, b, at);
        f.text = `${info.wscale} (multiply the window by ${2 ** Math.min(info.wscale, 14)})`;
        children.push(f);
      }
    } else if (kind === 4 && len === 2) {
      info.sackPermitted = true;
    } else if (kind === 5 && (len - 2) % 8 === 0) {
      info.sack = [];
      for (let i = at + 2; i + 8 <= at + len; i += 8) {
        const le = readUint(b, i, 4);
        const re = readUint(b, i + 4, 4);
        info.sack.push([le, re]);
        children?.push(
          { id: 'tcp.options.sack_le', name: 'Left edge', offset: i, length: 4, raw: le, value: le, text: String(le), note: 'First byte of a block received.' },
          {
            id: 'tcp.options.sack_re',
            name: 'Right edge',
            offset: i + 4,
            length: 4,
            raw: re,
            value: re,
            text: String(re),
            note: 'One past the last byte of that block.',
          },
        );
      }
    } else if (kind === 8 && len === 10) {
      info.tsval = readField(TCP_OPTION.tsval, b, at);
      info.tsecr = readField(TCP_OPTION.tsecr, b, at);
      children?.push(decodeField(TCP_OPTION.tsval, b, at), decodeField(TCP_OPTION.tsecr, b, at));
    }
    if (fields) {
      const f = spanField(known?.id ?? 'tcp.options.unknown', known?.name ?? `Option kind ${kind}`, b, at, len, undefined, known?.note);
      f.children = children;
      fields.push(f);
    }
    at += len;
  }
  return info;
}

export interface TcpHeaderInfo {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  headerLength: number;
  flags: number;
  window: number;
  options: TcpOptionsInfo;
}

export function decodeTcp(b: Uint8Array, at: number, end: number, datagramEnd: number, ip: IpContext): LayerResult & { info?: TcpHeaderInfo } {
  // Cut short inside the fixed header: the ports only (as Wireshark does), the rest is in the hex pane.
  const { fields, missing } =
    end - at >= TCP_MIN_HEADER ? decodeFields(TCP_TABLE, b, at, end) : decodeFields([TCP.srcport, TCP.dstport, TCP.seq], b, at, Math.min(end, at + 4));
  const layer = {
    id: 'tcp',
    name: 'TCP',
    offset: at,
    length: Math.min(TCP_MIN_HEADER, end - at),
    summary: '',
    note: TCP_NOTE,
    fields,
    problems: [] as string[],
    ...(ip.quoted ? { quoted: true } : {}),
  };
  if (missing !== undefined) {
    if (!ip.quoted) layer.problems.push(truncatedProblem('TCP', missing, TCP_MIN_HEADER, end - at));
    layer.summary = fields.length >= 2 ? `${fields[0].text} -> ${fields[1].text}` : 'TCP (cut short)';
    return { layer };
  }
  const headerLength = readField(TCP.hdrLen, b, at) * 4;
  const flags = readField(TCP.flags, b, at);
  const segmentEnd = Math.max(datagramEnd, at);
  const info: TcpHeaderInfo = {
    srcPort: readField(TCP.srcport, b, at),
    dstPort: readField(TCP.dstport, b, at),
    seq: readField(TCP.seq, b, at),
    ack: readField(TCP.ack, b, at),
    headerLength,
    flags,
    window: readField(TCP.window, b, at),
    options: {},
  };
  if (headerLength < TCP_MIN_HEADER) {
    layer.problems.push(`data offset ${headerLength} bytes is less than the 20-byte minimum`);
    layer.summary = `${info.srcPort} -> ${info.dstPort} (bad data offset)`;
    return { layer, info };
  }
  layer.length = Math.min(headerLength, end - at);
  if (headerLength > TCP_MIN_HEADER) {
    if (at + headerLength <= end) {
      const opts = spanField('tcp.options', 'Options', b, at + TCP_MIN_HEADER, headerLength - TCP_MIN_HEADER, `${headerLength - TCP_MIN_HEADER} bytes`);
      opts.note = 'Up to 40 bytes after the fixed header, announced by the data offset: MSS, window scale, SACK and timestamps.';
      opts.children = [];
      info.options = tcpOptions(b, at + TCP_MIN_HEADER, at + headerLength, opts.children, layer.problems);
      fields.push(opts);
    } else layer.problems.push(truncatedProblem('TCP', 'Options', headerLength, end - at));
  }
  const dataLength = Math.max(0, segmentEnd - at - headerLength);
  const checksum = fields.find((f) => f.id === TCP.checksum.id)!;
  if (ip.quoted) {
    // nothing to verify in a quote
  } else if (ip.fragmented || segmentEnd > end) {
    checksum.check = {
      status: 'unverified',
      text: ip.fragmented ? 'not verified: the rest of the segment is in other fragments' : 'not verified: the segment was not captured whole',
    };
  } else {
    checksum.check = verifyChecksum(b, at, segmentEnd, at + TCP.checksum.offset, pseudoSum(b, ip, 6, segmentEnd - at), 'tcp');
    if (checksum.check.status === 'bad') layer.problems.push(`checksum ${checksum.check.text}`);
  }
  const names = tcpFlagNames(flags);
  layer.summary = `${info.srcPort} -> ${info.dstPort} [${names.join(', ')}] seq ${info.seq}${flags & 0x10 ? ` ack ${info.ack}` : ''} win ${info.window}, ${dataLength} bytes of data`;
  if (dataLength > 0 && at + headerLength < Math.min(end, segmentEnd)) {
    fields.push(
      spanField(
        'tcp.payload',
        'TCP payload',
        b,
        at + headerLength,
        Math.min(end, segmentEnd) - at - headerLength,
        `${dataLength} bytes`,
        "The application's bytes this segment carries.",
      ),
    );
  }
  return { layer, next: { type: 6, offset: at + headerLength, end: segmentEnd }, info };
}
