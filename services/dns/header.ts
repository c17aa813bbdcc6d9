// The DNS header (RFC 1035 section 4.1.1, RFC 4035 section 3.2 for AD and CD) as one declarative table:
// each field's offset, size, bit mask and a note for students. Decoding and encoding the header, the
// event fields and the field-by-field view all come from this table; nothing about a field is written
// twice.
import { Reader, type Writer } from './wire.js';

export interface HeaderField {
  key: 'id' | 'qr' | 'opcode' | 'aa' | 'tc' | 'rd' | 'ra' | 'z' | 'ad' | 'cd' | 'rcode' | 'qdcount' | 'ancount' | 'nscount' | 'arcount';
  label: string;
  /** Octet offset in the message. */
  offset: number;
  /** Width in octets of the word the field is in. */
  length: 2;
  /** For a field inside the flags word: its bits. */
  mask?: number;
  note: string;
}

export const HEADER_FIELDS: readonly HeaderField[] = [
  { key: 'id', label: 'Transaction ID', offset: 0, length: 2, note: 'Chosen by the client; the answer carries the same number so the client can match them.' },
  { key: 'qr', label: 'Response', offset: 2, length: 2, mask: 0x8000, note: '0 in a query, 1 in a response.' },
  { key: 'opcode', label: 'Opcode', offset: 2, length: 2, mask: 0x7800, note: '0 is a standard query; labnet answers nothing else (NOTIMP).' },
  { key: 'aa', label: 'Authoritative answer', offset: 2, length: 2, mask: 0x0400, note: 'Set when the answer comes from the server that owns the zone.' },
  { key: 'tc', label: 'Truncated', offset: 2, length: 2, mask: 0x0200, note: 'The answer did not fit in the UDP datagram: ask again over TCP.' },
  { key: 'rd', label: 'Recursion desired', offset: 2, length: 2, mask: 0x0100, note: 'The client asks the server to look the name up elsewhere if needed.' },
  { key: 'ra', label: 'Recursion available', offset: 2, length: 2, mask: 0x0080, note: 'labnet never looks names up elsewhere, so this is always 0.' },
  { key: 'z', label: 'Reserved', offset: 2, length: 2, mask: 0x0040, note: 'Must be zero.' },
  { key: 'ad', label: 'Authentic data', offset: 2, length: 2, mask: 0x0020, note: 'DNSSEC: the data was validated (labnet does not sign its zone).' },
  { key: 'cd', label: 'Checking disabled', offset: 2, length: 2, mask: 0x0010, note: 'DNSSEC: the client will validate itself.' },
  { key: 'rcode', label: 'Response code', offset: 2, length: 2, mask: 0x000f, note: '0 NOERROR, 1 FORMERR, 2 SERVFAIL, 3 NXDOMAIN, 4 NOTIMP, 5 REFUSED.' },
  { key: 'qdcount', label: 'Questions', offset: 4, length: 2, note: 'Entries in the question section (always 1 in practice).' },
  { key: 'ancount', label: 'Answer RRs', offset: 6, length: 2, note: 'Records that answer the question.' },
  { key: 'nscount', label: 'Authority RRs', offset: 8, length: 2, note: 'Records about the zone (its SOA in a negative answer).' },
  { key: 'arcount', label: 'Additional RRs', offset: 10, length: 2, note: 'Helpful extra records (addresses of names in the answer, the EDNS OPT record).' },
];

export interface HeaderFlags {
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** The low four bits of the response code (EDNS adds eight more in the OPT record). */
  rcode: number;
}

export const FLAG_FIELDS = HEADER_FIELDS.filter((f): f is HeaderField & { key: keyof HeaderFlags; mask: number } => f.mask !== undefined);

function shiftOf(mask: number): number {
  let s = 0;
  while (((mask >> s) & 1) === 0) s++;
  return s;
}

const SHIFTS = new Map(FLAG_FIELDS.map((f) => [f.key, shiftOf(f.mask)]));

export function decodeFlags(word: number): HeaderFlags {
  const out: Record<string, number | boolean> = {};
  for (const f of FLAG_FIELDS) {
    const v = (word & f.mask) >>> SHIFTS.get(f.key)!;
    out[f.key] = f.mask & (f.mask - 1) ? v : v === 1;
  }
  return out as unknown as HeaderFlags;
}

export function encodeFlags(flags: HeaderFlags): number {
  let word = 0;
  for (const f of FLAG_FIELDS) {
    const v = flags[f.key];
    word |= ((typeof v === 'boolean' ? (v ? 1 : 0) : v) << SHIFTS.get(f.key)!) & f.mask;
  }
  return word;
}

export interface Header {
  id: number;
  flags: HeaderFlags;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function readHeader(r: Reader): Header {
  const id = r.u16('the header');
  const flags = decodeFlags(r.u16('the header'));
  return { id, flags, qdcount: r.u16('the header'), ancount: r.u16('the header'), nscount: r.u16('the header'), arcount: r.u16('the header') };
}

export function writeHeader(w: Writer, h: Header): void {
  w.u16(h.id);
  w.u16(encodeFlags(h.flags));
  w.u16(h.qdcount);
  w.u16(h.ancount);
  w.u16(h.nscount);
  w.u16(h.arcount);
}

/** Each header field of a message with its value, offset and mask: the field-by-field view. */
export function headerView(buf: Uint8Array): Array<{ field: string; label: string; offset: number; mask?: string; value: number; note: string }> {
  if (buf.length < 12) return [];
  const r = new Reader(buf);
  const words = [r.u16(), r.u16(), r.u16(), r.u16(), r.u16(), r.u16()];
  return HEADER_FIELDS.map((f) => {
    const word = words[f.offset / 2];
    const value = f.mask === undefined ? word : (word & f.mask) >>> SHIFTS.get(f.key as keyof HeaderFlags)!;
    return {
      field: f.key,
      label: f.label,
      offset: f.offset,
      ...(f.mask !== undefined ? { mask: `0x${f.mask.toString(16).padStart(4, '0')}` } : {}),
      value,
      note: f.note,
    };
  });
}

export const OPCODE_NAMES: Record<number, string> = { 0: 'QUERY', 1: 'IQUERY', 2: 'STATUS', 4: 'NOTIFY', 5: 'UPDATE', 6: 'DSO' };

/** RFC 1035 section 4.1.1, RFC 6891 section 9 (BADVERS is 16: four header bits plus the OPT's extended bits). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

export const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RCODE).map(([k, v]) => [v, k]));

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `OPCODE${opcode}`;
}
