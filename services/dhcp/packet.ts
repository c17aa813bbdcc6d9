// The DHCP/BOOTP packet codec (RFC 2131 section 2, RFC 2132, RFC 3396). decodePacket never throws: any
// input gives either a packet or a reason it was dropped. Options are kept as raw bytes in a Map,
// with every instance of a code concatenated (RFC 3396 long options) and the sname/file fields read
// as option space when option 52 says so (RFC 2132 9.3; order options, file, sname per RFC 3396 s5).
import { DHCP_LIMITS, MAGIC_COOKIE } from './limits.js';
import { OPT, describeOption, optionName } from './options.js';
import { intToIp, macToString } from './ipv4.js';

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** 16 octets as on the wire. */
  chaddr: Uint8Array;
  /** 64 octets (zeros when used for options). */
  sname: Uint8Array;
  /** 128 octets (zeros when used for options). */
  file: Uint8Array;
  /** Option code -> value, in first-seen order; pad, end and overload are not kept. */
  options: Map<number, Uint8Array>;
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; reason: string };

export const BROADCAST_FLAG = 0x8000;

/** Parses one option area into `into`; returns an error text or undefined. */
function readOptions(buf: Uint8Array, start: number, end: number, into: Map<number, Uint8Array[]>, where: string): string | undefined {
  let i = start;
  while (i < end) {
    const code = buf[i];
    if (code === OPT.pad) {
      i++;
      continue;
    }
    if (code === OPT.end) return undefined;
    if (i + 1 >= end) return `option ${code} in ${where} has no length octet`;
    const len = buf[i + 1];
    if (i + 2 + len > end) return `option ${code} (${optionName(code)}) in ${where} runs past the end (length ${len})`;
    const parts = into.get(code);
    const value = buf.subarray(i + 2, i + 2 + len);
    if (parts) parts.push(value);
    else into.set(code, [value]);
    i += 2 + len;
  }
  // A missing end option is tolerated when the area ends exactly at its boundary.
  return undefined;
}

export function decodePacket(input: Uint8Array): DecodeResult {
  // Plain Uint8Array views: Buffer#subarray goes through a species constructor and is several times
  // slower, and a busy server decodes a few thousand packets a second.
  const buf: Uint8Array = input instanceof Buffer ? new Uint8Array(input.buffer as ArrayBuffer, input.byteOffset, input.byteLength) : input;
  if (buf.length < DHCP_LIMITS.minRequestLength)
    return { ok: false, reason: `truncated packet (${buf.length} octets, at least ${DHCP_LIMITS.minRequestLength} needed)` };
  if (buf.length > DHCP_LIMITS.maxPacketLength) return { ok: false, reason: `packet too long (${buf.length} octets)` };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const cookie = dv.getUint32(236);
  if (cookie !== MAGIC_COOKIE) return { ok: false, reason: `wrong magic cookie 0x${cookie.toString(16).padStart(8, '0')}` };
  const hlen = buf[2];
  if (hlen > DHCP_LIMITS.maxHardwareLength) return { ok: false, reason: `hardware address length ${hlen} is over 16` };
  const parts = new Map<number, Uint8Array[]>();
  const err = readOptions(buf, 240, buf.length, parts, 'options');
  if (err) return { ok: false, reason: err };
  const sname = buf.subarray(44, 108);
  const file = buf.subarray(108, 236);
  const overloadParts = parts.get(OPT.overload);
  parts.delete(OPT.overload);
  let overload = 0;
  if (overloadParts) {
    const v = concat(overloadParts);
    if (v.length !== 1 || v[0] < 1 || v[0] > 3) return { ok: false, reason: 'bad option overload (52) value' };
    overload = v[0]!;
    // RFC 3396 section 5: the option field, then file, then sname.
    if (overload & 1) {
      const e = readOptions(buf, 108, 236, parts, 'file');
      if (e) return { ok: false, reason: e };
    }
    if (overload & 2) {
      const e = readOptions(buf, 44, 108, parts, 'sname');
      if (e) return { ok: false, reason: e };
    }
    parts.delete(OPT.overload);
  }
  const options = new Map<number, Uint8Array>();
  for (const [code, values] of parts) options.set(code, values.length === 1 ? values[0] : concat(values));
  return {
    ok: true,
    packet: {
      op: buf[0],
      htype: buf[1],
      hlen,
      hops: buf[3],
      xid: dv.getUint32(4),
      secs: dv.getUint16(8),
      flags: dv.getUint16(10),
      ciaddr: dv.getUint32(12),
      yiaddr: dv.getUint32(16),
      siaddr: dv.getUint32(20),
      giaddr: dv.getUint32(24),
      chaddr: buf.subarray(28, 44),
      sname: overload & 2 ? new Uint8Array(64) : sname,
      file: overload & 1 ? new Uint8Array(128) : file,
      options,
    },
  };
}

function concat(values: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const v of values) n += v.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const v of values) {
    out.set(v, o);
    o += v.length;
  }
  return out;
}

/** Size of the encoded options (without padding), long values split per RFC 3396. */
function optionsLength(options: Map<number, Uint8Array>): number {
  let n = 1; // end
  for (const v of options.values()) n += v.length === 0 ? 2 : v.length + 2 * Math.ceil(v.length / 255);
  return n;
}

/**
 * Encodes a packet; the result is padded with zeros to `minLength` (300 for replies). Values longer
 * than 255 octets become several instances of the option (RFC 3396 section 5).
 */
export function encodePacket(p: DhcpPacket, minLength: number = DHCP_LIMITS.minReplyLength): Buffer {
  const length = Math.max(minLength, 240 + optionsLength(p.options));
  const buf = Buffer.allocUnsafe(length).fill(0);
  buf[0] = p.op;
  buf[1] = p.htype;
  buf[2] = p.hlen;
  buf[3] = p.hops;
  buf.writeUInt32BE(p.xid >>> 0, 4);
  buf.writeUInt16BE(p.secs, 8);
  buf.writeUInt16BE(p.flags, 10);
  buf.writeUInt32BE(p.ciaddr >>> 0, 12);
  buf.writeUInt32BE(p.yiaddr >>> 0, 16);
  buf.writeUInt32BE(p.siaddr >>> 0, 20);
  buf.writeUInt32BE(p.giaddr >>> 0, 24);
  buf.set(p.chaddr.subarray(0, 16), 28);
  buf.set(p.sname.subarray(0, 64), 44);
  buf.set(p.file.subarray(0, 128), 108);
  buf.writeUInt32BE(MAGIC_COOKIE, 236);
  let o = 240;
  for (const [code, value] of p.options) {
    if (value.length === 0) {
      buf[o++] = code;
      buf[o++] = 0;
      continue;
    }
    for (let i = 0; i < value.length; i += 255) {
      const chunk = value.subarray(i, Math.min(i + 255, value.length));
      buf[o++] = code;
      buf[o++] = chunk.length;
      buf.set(chunk, o);
      o += chunk.length;
    }
  }
  buf[o] = OPT.end;
  return buf;
}

export function messageType(p: DhcpPacket): number | undefined {
  const v = p.options.get(OPT.messageType);
  return v && v.length === 1 ? v[0] : undefined;
}

export function optionIp(p: DhcpPacket, code: number): number | undefined {
  const v = p.options.get(code);
  if (!v || v.length !== 4) return undefined;
  return ((v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3]) >>> 0;
}

export function optionText(p: DhcpPacket, code: number): string | undefined {
  const v = p.options.get(code);
  if (!v || v.length === 0) return undefined;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '');
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(b.buffer, b.byteOffset, end < 0 ? b.byteLength : end)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '.');
}

/** Every header field and option by name, for protocol events (the dashboard draws the exchange). */
export function describePacket(p: DhcpPacket): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [code, value] of p.options) options[optionName(code)] = describeOption(code, value);
  return {
    op: p.op === 1 ? 'BOOTREQUEST' : p.op === 2 ? 'BOOTREPLY' : p.op,
    htype: p.htype,
    hlen: p.hlen,
    hops: p.hops,
    xid: `0x${p.xid.toString(16).padStart(8, '0')}`,
    secs: p.secs,
    flags: p.flags & BROADCAST_FLAG ? 'broadcast' : p.flags === 0 ? 'unicast' : `0x${p.flags.toString(16)}`,
    ciaddr: intToIp(p.ciaddr),
    yiaddr: intToIp(p.yiaddr),
    siaddr: intToIp(p.siaddr),
    giaddr: intToIp(p.giaddr),
    chaddr: macToString(p.chaddr, p.hlen),
    sname: cString(p.sname),
    file: cString(p.file),
    options,
  };
}
