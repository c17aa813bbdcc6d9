// Resource record types (RFC 1035 section 3.3, RFC 3596, RFC 2782, RFC 6891): one codec per type in one
// registry, each with encode, decode, encodingLength (uncompressed) and format (presentation, as dig
// prints it). A type not in the registry keeps its data as opaque octets (RFC 3597), so any record
// survives decode and encode unchanged.
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from './addresses.js';
import { DNS_LIMITS } from './limits.js';
import { fqdn, nameWireLength, readName, writeName } from './names.js';
import type { Reader, Writer } from './wire.js';
import { DnsWireError } from './wire-error.js';

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export interface MxData {
  preference: number;
  exchange: string;
}

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

/**
 * A: dotted IPv4; AAAA: IPv6 text; NS, CNAME, PTR: a name; MX, SOA, SRV: objects; TXT: its
 * character-strings; OPT: its options; any other type: the RDATA octets.
 */
export type RecordData = string | MxData | SoaData | SrvData | Uint8Array[] | EdnsOption[] | Uint8Array;

export interface RecordCodec<D extends RecordData = RecordData> {
  type: number;
  name: string;
  encode(w: Writer, data: D): void;
  /** Reads the data, which ends at `end` (the reader's offset must land exactly there). */
  decode(r: Reader, end: number): D;
  /** Octets of the data without name compression. */
  encodingLength(data: D): number;
  format(data: D): string;
}

const u16 = (v: number, what: string): number => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new DnsWireError('BAD_VALUE', `${what} ${v} is not a 16-bit value`);
  return v;
};
const u32 = (v: number, what: string): number => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DnsWireError('BAD_VALUE', `${what} ${v} is not a 32-bit value`);
  return v;
};

/** NS, CNAME and PTR: one name, compressed on the wire (RFC 3597 section 4 allows it for RFC 1035 types). */
function nameCodec(type: number, name: string): RecordCodec<string> {
  return {
    type,
    name,
    encode: (w, d) => writeName(w, d, true),
    decode: (r) => readName(r),
    encodingLength: (d) => nameWireLength(d),
    format: (d) => fqdn(d),
  };
}

const a: RecordCodec<string> = {
  type: TYPE.A,
  name: 'A',
  encode: (w, d) => w.bytes(ipv4ToBytes(d)),
  decode: (r, end) => {
    if (end - r.offset !== 4) throw new DnsWireError('BAD_RDLENGTH', `A data of ${end - r.offset} octets (needs 4)`, r.offset);
    return bytesToIpv4(r.bytes(4));
  },
  encodingLength: () => 4,
  format: (d) => d,
};

const aaaa: RecordCodec<string> = {
  type: TYPE.AAAA,
  name: 'AAAA',
  encode: (w, d) => w.bytes(ipv6ToBytes(d)),
  decode: (r, end) => {
    if (end - r.offset !== 16) throw new DnsWireError('BAD_RDLENGTH', `AAAA data of ${end - r.offset} octets (needs 16)`, r.offset);
    return bytesToIpv6(r.bytes(16));
  },
  encodingLength: () => 16,
  format: (d) => d,
};

const mx: RecordCodec<MxData> = {
  type: TYPE.MX,
  name: 'MX',
  encode: (w, d) => {
    w.u16(u16(d.preference, 'MX preference'));
    writeName(w, d.exchange, true);
  },
  decode: (r) => ({ preference: r.u16('MX preference'), exchange: readName(r) }),
  encodingLength: (d) => 2 + nameWireLength(d.exchange),
  format: (d) => `${d.preference} ${fqdn(d.exchange)}`,
};

const soa: RecordCodec<SoaData> = {
  type: TYPE.SOA,
  name: 'SOA',
  encode: (w, d) => {
    writeName(w, d.mname, true);
    writeName(w, d.rname, true);
    w.u32(u32(d.serial, 'SOA serial'));
    w.u32(u32(d.refresh, 'SOA refresh'));
    w.u32(u32(d.retry, 'SOA retry'));
    w.u32(u32(d.expire, 'SOA expire'));
    w.u32(u32(d.minimum, 'SOA minimum'));
  },
  decode: (r) => ({
    mname: readName(r),
    rname: readName(r),
    serial: r.u32('SOA serial'),
    refresh: r.u32('SOA refresh'),
    retry: r.u32('SOA retry'),
    expire: r.u32('SOA expire'),
    minimum: r.u32('SOA minimum'),
  }),
  encodingLength: (d) => nameWireLength(d.mname) + nameWireLength(d.rname) + 20,
  format: (d) => `${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`,
};

const srv: RecordCodec<SrvData> = {
  type: TYPE.SRV,
  name: 'SRV',
  // RFC 2782: the target is not compressed.
  encode: (w, d) => {
    w.u16(u16(d.priority, 'SRV priority'));
    w.u16(u16(d.weight, 'SRV weight'));
    w.u16(u16(d.port, 'SRV port'));
    writeName(w, d.target, false);
  },
  decode: (r) => ({ priority: r.u16('SRV priority'), weight: r.u16('SRV weight'), port: r.u16('SRV port'), target: readName(r) }),
  encodingLength: (d) => 6 + nameWireLength(d.target),
  format: (d) => `${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`,
};

function quoted(s: Uint8Array): string {
  let out = '"';
  for (const c of s) {
    if (c === 0x22 || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c < 0x20 || c >= 0x7f) out += `\\${c.toString().padStart(3, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `${out}"`;
}

const txt: RecordCodec<Uint8Array[]> = {
  type: TYPE.TXT,
  name: 'TXT',
  encode: (w, d) => {
    for (const s of d) {
      if (s.length > DNS_LIMITS.maxCharacterString) throw new DnsWireError('BAD_VALUE', `a TXT string of ${s.length} octets (at most 255)`);
      w.u8(s.length);
      w.bytes(s);
    }
  },
  decode: (r, end) => {
    const out: Uint8Array[] = [];
    while (r.offset < end) {
      const n = r.u8('a TXT string length');
      if (r.offset + n > end) throw new DnsWireError('BAD_RDLENGTH', 'a TXT string runs past the record data', r.offset);
      out.push(r.bytes(n));
    }
    return out;
  },
  encodingLength: (d) => d.reduce((n, s) => n + 1 + s.length, 0),
  format: (d) => d.map(quoted).join(' '),
};

const opt: RecordCodec<EdnsOption[]> = {
  type: TYPE.OPT,
  name: 'OPT',
  encode: (w, d) => {
    for (const o of d) {
      w.u16(u16(o.code, 'EDNS option code'));
      w.u16(u16(o.data.length, 'EDNS option length'));
      w.bytes(o.data);
    }
  },
  decode: (r, end) => {
    const out: EdnsOption[] = [];
    while (r.offset < end) {
      if (out.length >= DNS_LIMITS.maxEdnsOptions) throw new DnsWireError('BAD_OPT', `more than ${DNS_LIMITS.maxEdnsOptions} EDNS options`, r.offset);
      const code = r.u16('an EDNS option code');
      const n = r.u16('an EDNS option length');
      if (r.offset + n > end) throw new DnsWireError('BAD_RDLENGTH', 'an EDNS option runs past the record data', r.offset);
      out.push({ code, data: r.bytes(n) });
    }
    return out;
  },
  encodingLength: (d) => d.reduce((n, o) => n + 4 + o.data.length, 0),
  format: (d) => d.map((o) => `${EDNS_OPTION_NAMES[o.code] ?? `option ${o.code}`} (${o.data.length} octets)`).join(', '),
};

/** RFC 3597: data of a type we do not know, kept as octets. */
export const opaque: RecordCodec<Uint8Array> = {
  type: -1,
  name: 'unknown',
  encode: (w, d) => w.bytes(d),
  decode: (r, end) => r.bytes(end - r.offset),
  encodingLength: (d) => d.length,
  format: (d) => `\\# ${d.length}${d.length ? ` ${Buffer.from(d).toString('hex')}` : ''}`,
};

/** The registry: every type labnet reads and writes field by field. */
export const RECORD_CODECS: ReadonlyMap<number, RecordCodec> = new Map<number, RecordCodec>(
  [a, nameCodec(TYPE.NS, 'NS'), nameCodec(TYPE.CNAME, 'CNAME'), soa, nameCodec(TYPE.PTR, 'PTR'), mx, txt, aaaa, srv, opt].map(
    (c) => [c.type, c as unknown as RecordCodec] as const,
  ),
);

export function codecFor(type: number): RecordCodec {
  return RECORD_CODECS.get(type) ?? opaque;
}

/** Names of types, including the ones only seen in questions. */
export const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

export const CLASS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CLASS).map(([k, v]) => [v, k]));

export function className(cls: number): string {
  return CLASS_NAMES[cls] ?? `CLASS${cls}`;
}

/** IANA "DNS EDNS0 Option Codes". */
export const EDNS_OPTION_NAMES: Record<number, string> = {
  3: 'NSID',
  8: 'CLIENT-SUBNET',
  9: 'EXPIRE',
  10: 'COOKIE',
  11: 'TCP-KEEPALIVE',
  12: 'PADDING',
  15: 'EDE',
};
