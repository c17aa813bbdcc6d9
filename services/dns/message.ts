// Whole DNS messages (RFC 1035 section 4.1): decode, encode and encodingLength, symmetric so that
// decodeMessage(encodeMessage(m)) deep-equals m. Names are compressed on encode (RFC 1035 section
// 4.1.4); encodingLength runs the same writer in measuring mode, so it is exact.
// EDNS (RFC 6891): the OPT pseudo-record stays a record in the additional section (its CLASS is the
// UDP payload size, its TTL the extended RCODE, version and flags); `ednsOf` and `optRecord` convert.
import { DNS_LIMITS } from './limits.js';
import { readHeader, writeHeader, type HeaderFlags } from './header.js';
import { ROOT, readName, writeName } from './names.js';
import { codecFor, TYPE, typeName, type EdnsOption, type RecordData } from './records.js';
import { Reader, Writer } from './wire.js';
import { DnsWireError } from './wire-error.js';

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RecordData;
}

export interface DnsMessage {
  id: number;
  flags: HeaderFlags;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export interface DecodeOptions {
  /** A query: exactly one question (RFC 9619) and at most DNS_LIMITS.maxRecordsPerQuery records. */
  query?: boolean;
}

function readQuestion(r: Reader): Question {
  const name = readName(r);
  return { name, type: r.u16('the question type'), class: r.u16('the question class') };
}

function readRecord(r: Reader, section: 'answer' | 'authority' | 'additional'): ResourceRecord {
  const start = r.offset;
  const name = readName(r);
  const type = r.u16('a record type');
  const cls = r.u16('a record class');
  const ttl = r.u32('a record TTL');
  const rdlength = r.u16('a record length');
  r.need(rdlength, 'record data');
  if (type === TYPE.OPT && (section !== 'additional' || name !== ROOT))
    throw new DnsWireError(
      'BAD_OPT',
      section !== 'additional' ? `OPT record in the ${section} section` : 'OPT record with an owner name other than the root',
      start,
    );
  const end = r.offset + rdlength;
  // The codec reads from a sub-reader bounded by `end`: a name pointer may read earlier octets, never later.
  const sub = new Reader(r.buf, r.offset, end);
  const data = codecFor(type).decode(sub, end);
  if (sub.offset !== end)
    throw new DnsWireError('BAD_RDLENGTH', `RDLENGTH ${rdlength} but the ${typeName(type)} data takes ${sub.offset - (end - rdlength)} octets`, start);
  r.offset = end;
  return { name, type, class: cls, ttl, data };
}

/** Decodes a message; throws DnsWireError for anything malformed. */
export function decodeMessage(buf: Uint8Array, options: DecodeOptions = {}): DnsMessage {
  const r = new Reader(buf);
  const h = readHeader(r);
  if (options.query) {
    if (h.qdcount !== DNS_LIMITS.questionsPerQuery) throw new DnsWireError('BAD_QDCOUNT', `a query with ${h.qdcount} questions (must be 1)`, 4);
    if (h.ancount + h.nscount + h.arcount > DNS_LIMITS.maxRecordsPerQuery)
      throw new DnsWireError(
        'TOO_MANY_RECORDS',
        `a query announcing ${h.ancount + h.nscount + h.arcount} records (at most ${DNS_LIMITS.maxRecordsPerQuery})`,
        6,
      );
  }
  // Every question takes at least 5 octets and every record 11: counts the data cannot hold fail fast.
  if (h.qdcount * 5 + (h.ancount + h.nscount + h.arcount) * 11 > r.remaining)
    throw new DnsWireError('TRUNCATED', 'the counts announce more than the message holds', 4);
  const questions: Question[] = [];
  for (let i = 0; i < h.qdcount; i++) questions.push(readQuestion(r));
  const answers: ResourceRecord[] = [];
  for (let i = 0; i < h.ancount; i++) answers.push(readRecord(r, 'answer'));
  const authorities: ResourceRecord[] = [];
  for (let i = 0; i < h.nscount; i++) authorities.push(readRecord(r, 'authority'));
  const additionals: ResourceRecord[] = [];
  let opts = 0;
  for (let i = 0; i < h.arcount; i++) {
    const rr = readRecord(r, 'additional');
    if (rr.type === TYPE.OPT && ++opts > DNS_LIMITS.maxOptRecords) throw new DnsWireError('BAD_OPT', 'more than one OPT record', r.offset);
    additionals.push(rr);
  }
  if (r.remaining > 0) throw new DnsWireError('TRAILING_DATA', `${r.remaining} octets after the last record`, r.offset);
  return { id: h.id, flags: h.flags, questions, answers, authorities, additionals };
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  writeName(w, rr.name, true);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const at = w.offset;
  w.u16(0);
  codecFor(rr.type).encode(w, rr.data);
  w.patch16(at, w.offset - at - 2);
}

function write(w: Writer, m: DnsMessage): void {
  for (const n of [m.questions.length, m.answers.length, m.authorities.length, m.additionals.length])
    if (n > 0xffff) throw new DnsWireError('BAD_VALUE', `a section of ${n} entries`);
  writeHeader(w, {
    id: m.id,
    flags: m.flags,
    qdcount: m.questions.length,
    ancount: m.answers.length,
    nscount: m.authorities.length,
    arcount: m.additionals.length,
  });
  for (const q of m.questions) {
    writeName(w, q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of m.answers) writeRecord(w, rr);
  for (const rr of m.authorities) writeRecord(w, rr);
  for (const rr of m.additionals) writeRecord(w, rr);
}

export function encodeMessage(m: DnsMessage): Buffer {
  const w = new Writer();
  write(w, m);
  return w.result();
}

/** Exact encoded size, compression included. */
export function encodingLength(m: DnsMessage): number {
  const w = new Writer(true);
  write(w, m);
  return w.offset;
}

export interface Edns {
  /** Largest UDP payload the sender can receive (RFC 6891 section 6.2.3). */
  udpSize: number;
  /** Upper eight bits of the 12-bit response code. */
  extendedRcode: number;
  version: number;
  /** DNSSEC OK (RFC 3225). */
  do: boolean;
  /** The other 15 flag bits (must be zero). */
  z: number;
  options: EdnsOption[];
}

export function ednsOf(m: DnsMessage): Edns | undefined {
  const rr = m.additionals.find((r) => r.type === TYPE.OPT);
  if (!rr) return undefined;
  return {
    udpSize: rr.class,
    extendedRcode: rr.ttl >>> 24,
    version: (rr.ttl >>> 16) & 0xff,
    do: (rr.ttl & 0x8000) !== 0,
    z: rr.ttl & 0x7fff,
    options: rr.data as EdnsOption[],
  };
}

export function optRecord(e: Edns): ResourceRecord {
  return {
    name: ROOT,
    type: TYPE.OPT,
    class: e.udpSize,
    ttl: ((e.extendedRcode << 24) | (e.version << 16) | (e.do ? 0x8000 : 0) | (e.z & 0x7fff)) >>> 0,
    data: e.options,
  };
}

/** The full response code: header bits plus the OPT's extended bits (RFC 6891 section 6.1.3). */
export function fullRcode(m: DnsMessage): number {
  return ((ednsOf(m)?.extendedRcode ?? 0) << 4) | m.flags.rcode;
}
