// The application data a TCP or UDP header carries: named by the lab's port (HTTP, SMTP, IMAP...) or by
// its look (a TLS record), with its first line as the summary. The transcript view decodes the
// protocols themselves; here the payload is one block of the encapsulation. DHCP is the exception:
// its fixed BOOTP header is decoded, because its transaction id and client MAC link a frame to the
// DHCP ladder.
import { decodeFields, formatMac, readField, type FieldSpec } from './field-table.js';
import type { PacketLayer } from './layer.js';

/** The well-known server ports of the course's protocols; the capture adds the lab's bound ports. */
export const WELL_KNOWN_PORTS: ReadonlyMap<number, string> = new Map([
  [25, 'SMTP'],
  [587, 'SMTP submission'],
  [465, 'SMTPS'],
  [110, 'POP3'],
  [995, 'POP3S'],
  [143, 'IMAP'],
  [993, 'IMAPS'],
  [80, 'HTTP'],
  [443, 'HTTPS'],
  [67, 'DHCP'],
  [68, 'DHCP'],
  [53, 'DNS'],
]);

export const DHCP_MESSAGE_TYPES: Readonly<Record<number, string>> = {
  1: 'DISCOVER',
  2: 'OFFER',
  3: 'REQUEST',
  4: 'DECLINE',
  5: 'ACK',
  6: 'NAK',
  7: 'RELEASE',
  8: 'INFORM',
};

/** The fixed BOOTP header (RFC 2131 section 2) up to the client hardware address. */
export const BOOTP = {
  op: {
    id: 'dhcp.type',
    name: 'Message op',
    offset: 0,
    length: 1,
    format: 'dec',
    values: { 1: 'Boot request (client to server)', 2: 'Boot reply (server to client)' },
  },
  htype: { id: 'dhcp.hw.type', name: 'Hardware type', offset: 1, length: 1, format: 'dec', values: { 1: 'Ethernet' } },
  hlen: { id: 'dhcp.hw.len', name: 'Hardware address length', offset: 2, length: 1, format: 'dec' },
  hops: { id: 'dhcp.hops', name: 'Hops', offset: 3, length: 1, format: 'dec', note: 'Relay agents count themselves here.' },
  xid: {
    id: 'dhcp.id',
    name: 'Transaction ID',
    offset: 4,
    length: 4,
    format: 'hex',
    note: 'Picked by the client; the server answers with the same, so the client knows which answer is for which request.',
  },
  secs: { id: 'dhcp.secs', name: 'Seconds elapsed', offset: 8, length: 2, format: 'dec', note: 'Since the client began this exchange.' },
  flags: {
    id: 'dhcp.flags',
    name: 'Flags',
    offset: 10,
    length: 2,
    format: 'hex',
    children: [
      {
        id: 'dhcp.flags.bc',
        name: 'Broadcast',
        offset: 10,
        length: 2,
        mask: 0x8000,
        format: 'flag',
        note: 'The client cannot receive unicast before it has an address: answer by broadcast.',
      },
    ],
  },
  ciaddr: {
    id: 'dhcp.ip.client',
    name: 'Client IP address',
    offset: 12,
    length: 4,
    format: 'ipv4',
    note: 'Filled in only by a client that already has its address (renewing).',
  },
  yiaddr: { id: 'dhcp.ip.your', name: 'Your IP address', offset: 16, length: 4, format: 'ipv4', note: 'The address the server offers or assigns.' },
  siaddr: { id: 'dhcp.ip.server', name: 'Next server IP address', offset: 20, length: 4, format: 'ipv4' },
  giaddr: { id: 'dhcp.ip.relay', name: 'Relay agent IP address', offset: 24, length: 4, format: 'ipv4' },
  chaddr: {
    id: 'dhcp.hw.mac_addr',
    name: 'Client MAC address',
    offset: 28,
    length: 6,
    format: 'mac',
    note: 'Identifies the client (with htype 1 and hlen 6).',
  },
} as const satisfies Record<string, FieldSpec>;

const BOOTP_TABLE: readonly FieldSpec[] = Object.values(BOOTP);
const BOOTP_FIXED = 236;
/** The magic cookie after the fixed header (RFC 2131 section 3): options follow it. */
const COOKIE: FieldSpec = { id: 'dhcp.cookie', name: 'Magic cookie', offset: BOOTP_FIXED, length: 4, format: 'hex' };
const MAGIC_COOKIE = 0x63825363;

export interface DhcpInfo {
  op: number;
  xid: number;
  chaddr: string;
  /** Option 53, when present. */
  messageType?: number;
}

/** The BOOTP fields the frame index keeps, and option 53 (at most 64 options walked). */
export function dhcpInfo(b: Uint8Array, at: number, end: number): DhcpInfo | undefined {
  if (end - at < BOOTP_FIXED + 4) return undefined;
  const info: DhcpInfo = { op: readField(BOOTP.op, b, at), xid: readField(BOOTP.xid, b, at), chaddr: formatMac(b, at + BOOTP.chaddr.offset) };
  if (readField(COOKIE, b, at) !== MAGIC_COOKIE) return info;
  let p = at + BOOTP_FIXED + 4;
  for (let n = 0; n < 64 && p < end; n++) {
    const code = b[p];
    if (code === 255) break;
    if (code === 0) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (code === 53 && len === 1 && p + 2 < end) {
      info.messageType = b[p + 2];
      break;
    }
    p += 2 + len;
  }
  return info;
}

/** True when the payload looks like a TLS record: content type 20-23, version 3.x (RFC 8446 section 5.1). */
export function looksLikeTls(b: Uint8Array, at: number, end: number): boolean {
  return end - at >= 5 && b[at] >= 20 && b[at] <= 23 && b[at + 1] === 3 && b[at + 2] <= 4;
}

const TLS_CONTENT: Readonly<Record<number, string>> = { 20: 'ChangeCipherSpec', 21: 'Alert', 22: 'Handshake', 23: 'Application data' };

/** The first line of a text payload, cut to 80 characters, or undefined when it is not text. */
function firstLine(b: Uint8Array, at: number, end: number): string | undefined {
  let s = '';
  for (let i = at; i < end && i < at + 200; i++) {
    const c = b[i];
    if (c === 0x0d || c === 0x0a) break;
    if (c === 0x09) s += ' ';
    else if (c < 0x20 || c > 0x7e) return undefined;
    else s += String.fromCharCode(c);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The payload as one layer. `captured` ends where the capture stopped, `wireEnd` where the data ends
 * per the headers; `ports` names the server ports.
 */
export function decodePayload(
  b: Uint8Array,
  at: number,
  captured: number,
  wireEnd: number,
  srcPort: number,
  dstPort: number,
  ports: ReadonlyMap<number, string>,
): PacketLayer {
  const end = Math.min(captured, wireEnd);
  const size = wireEnd - at;
  const named = ports.get(dstPort) ?? ports.get(srcPort);
  const layer: PacketLayer = {
    id: 'data',
    name: named ?? 'Application data',
    offset: at,
    length: Math.max(0, end - at),
    summary: `${size} bytes`,
    fields: [],
    problems: [],
  };
  if (named === 'DHCP') {
    const { fields } = decodeFields(BOOTP_TABLE, b, at, end);
    layer.id = 'dhcp';
    layer.fields = fields;
    const info = dhcpInfo(b, at, end);
    if (info) {
      const kind =
        info.messageType !== undefined ? (DHCP_MESSAGE_TYPES[info.messageType] ?? `type ${info.messageType}`) : info.op === 1 ? 'BOOTREQUEST' : 'BOOTREPLY';
      layer.summary = `DHCP ${kind} xid 0x${info.xid.toString(16).padStart(8, '0')} from client ${info.chaddr}`;
    } else layer.summary = 'DHCP (cut short)';
    layer.note = 'A DHCP message in its UDP datagram; the DHCP view decodes every option. Clients send from port 68 to 67, servers answer from 67 to 68.';
    return layer;
  }
  if (looksLikeTls(b, at, end)) {
    layer.id = 'tls';
    layer.name = `TLS${named ? ` (${named})` : ''}`;
    layer.summary = `TLS ${TLS_CONTENT[b[at]]} record, ${size} bytes${b[at] === 23 ? ': encrypted' : ''}`;
    layer.note =
      'A TLS record: the bytes after its 5-byte header are encrypted once the handshake is done. The pcapng download carries the session keys, so Wireshark can open it.';
    return layer;
  }
  const line = firstLine(b, at, end);
  if (line !== undefined && line.length > 0) layer.summary = `${JSON.stringify(line)}${size > line.length + 2 ? ` (${size} bytes)` : ''}`;
  return layer;
}
