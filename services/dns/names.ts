// Domain names (RFC 1035 sections 2.3.4, 3.1 and 4.1.4). In labnet a name is a string in presentation
// form: labels joined by ".", no trailing dot, "." for the root; a "." or "\" inside a label is
// escaped with "\", and an octet outside printable ASCII is written "\DDD" (RFC 1035 section 5.1), so
// every wire name has exactly one presentation and decode(encode(name)) gives the name back.
// Case is kept as sent (RFC 4343): comparisons lower-case ASCII only.
import { DNS_LIMITS } from './limits.js';
import type { Reader, Writer } from './wire.js';
import { DnsWireError } from './wire-error.js';

export const ROOT = '.';

const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** One label's octets in presentation form. */
export function formatLabel(buf: Uint8Array, start: number, length: number): string {
  let plain = true;
  for (let i = start; i < start + length; i++) {
    const c = buf[i];
    if (c <= 0x20 || c >= 0x7f || c === DOT || c === BACKSLASH) {
      plain = false;
      break;
    }
  }
  if (plain) return String.fromCharCode(...buf.subarray(start, start + length));
  let s = '';
  for (let i = start; i < start + length; i++) {
    const c = buf[i];
    if (c === DOT || c === BACKSLASH) s += `\\${String.fromCharCode(c)}`;
    else if (c <= 0x20 || c >= 0x7f) s += `\\${c.toString().padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

export interface ParsedName {
  /** Each label's octets. */
  labels: Uint8Array[];
  /** Each label in presentation form (for compression keys). */
  texts: string[];
}

const parsedCache = new Map<string, ParsedName>();
const PARSED_CACHE_MAX = 2048;

/** Splits a presentation name into labels, checking RFC 1035's limits. Throws DnsWireError. */
export function parseName(name: string): ParsedName {
  const hit = parsedCache.get(name);
  if (hit) return hit;
  const parsed = parseNameUncached(name);
  if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.clear();
  parsedCache.set(name, parsed);
  return parsed;
}

function parseNameUncached(name: string): ParsedName {
  const labels: Uint8Array[] = [];
  const texts: string[] = [];
  if (name === ROOT || name === '') return { labels, texts };
  let cur: number[] = [];
  let wire = 1;
  const finish = (last: boolean): void => {
    if (cur.length === 0) {
      if (last) return; // one trailing dot
      throw new DnsWireError('EMPTY_LABEL', `empty label in "${name}"`);
    }
    if (cur.length > DNS_LIMITS.maxLabelLength)
      throw new DnsWireError('LABEL_TOO_LONG', `a label of ${cur.length} octets in "${name.slice(0, 80)}" (at most 63)`);
    const bytes = Uint8Array.from(cur);
    labels.push(bytes);
    texts.push(formatLabel(bytes, 0, bytes.length));
    wire += bytes.length + 1;
    if (wire > DNS_LIMITS.maxNameLength) throw new DnsWireError('NAME_TOO_LONG', `"${name.slice(0, 80)}..." is longer than 255 octets`);
    cur = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === DOT) {
      finish(i === name.length - 1);
      continue;
    }
    if (c === BACKSLASH) {
      const d = /^\d{3}/.exec(name.slice(i + 1, i + 4));
      if (d) {
        const v = Number(d[0]);
        if (v > 255) throw new DnsWireError('BAD_VALUE', `escape \\${d[0]} is not an octet in "${name}"`);
        cur.push(v);
        i += 3;
      } else if (i + 1 < name.length) {
        const e = name.charCodeAt(i + 1);
        if (e > 0xff) throw new DnsWireError('BAD_VALUE', `a character that is not an octet in "${name}"`);
        cur.push(e);
        i += 1;
      } else throw new DnsWireError('BAD_VALUE', `a lone "\\" at the end of "${name}"`);
      continue;
    }
    if (c > 0xff) throw new DnsWireError('BAD_VALUE', `a character that is not an octet in "${name}" (use punycode for international names)`);
    cur.push(c);
  }
  finish(true);
  return { labels, texts };
}

/** Octets the name takes uncompressed on the wire. */
export function nameWireLength(name: string): number {
  let n = 1;
  for (const l of parseName(name).labels) n += l.length + 1;
  return n;
}

/** The name lower-cased in ASCII only (RFC 4343 section 3: comparisons are ASCII case-insensitive). */
export function lowerName(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, (s) => s.toLowerCase()) : name;
}

/** The name in fully qualified display form ("lab.test." and "."). */
export function fqdn(name: string): string {
  return name === ROOT ? ROOT : `${name}.`;
}

/**
 * Writes a name. With `compress`, a suffix already written earlier in the message is replaced by a
 * pointer to it (RFC 1035 section 4.1.4); suffixes are matched exactly, case included, so the
 * client's spelling of its question comes back as it was sent (DNS 0x20).
 */
export function writeName(w: Writer, name: string, compress: boolean): void {
  const { labels, texts } = parseName(name);
  for (let i = 0; i < labels.length; i++) {
    const key = i === 0 ? texts.join('.') : texts.slice(i).join('.');
    if (compress) {
      const at = w.names.get(key);
      if (at !== undefined) {
        w.u16(0xc000 | at);
        return;
      }
    }
    if (w.offset < 0x4000 && !w.names.has(key)) w.names.set(key, w.offset);
    w.u8(labels[i].length);
    w.bytes(labels[i]);
  }
  w.u8(0);
}

/**
 * Walks a name at `start`: checks every label and pointer, and returns the offset after the name
 * where it was found (after its first pointer, if any). `labels`, when given, receives each label in
 * presentation form. Loop protection: a pointer must point before the start of the stretch of labels
 * it ends (so every jump goes strictly backwards) and at most DNS_LIMITS.maxPointers are followed.
 */
export function walkName(buf: Uint8Array, start: number, end: number, labels?: string[]): number {
  let pos = start;
  let stretch = start;
  let jumps = 0;
  let wire = 1;
  let after = -1;
  for (;;) {
    if (pos >= end) throw new DnsWireError('TRUNCATED', `the message ends inside a name (at ${pos})`, pos);
    const len = buf[pos];
    if (len === 0) return after < 0 ? pos + 1 : after;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= end) throw new DnsWireError('TRUNCATED', `the message ends inside a compression pointer (at ${pos})`, pos);
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (target >= stretch)
        throw new DnsWireError('BAD_POINTER', `compression pointer at ${pos} points to ${target}, not before ${stretch} (a loop or a forward pointer)`, pos);
      if (++jumps > DNS_LIMITS.maxPointers) throw new DnsWireError('BAD_POINTER', `more than ${DNS_LIMITS.maxPointers} compression pointers in one name`, pos);
      if (after < 0) after = pos + 2;
      pos = stretch = target;
      continue;
    }
    if (kind !== 0) throw new DnsWireError('BAD_LABEL_TYPE', `label type ${kind >> 6 === 1 ? '01' : '10'} at ${pos} (only 00 and pointers exist)`, pos);
    if (pos + 1 + len > end) throw new DnsWireError('TRUNCATED', `the message ends inside a label (at ${pos})`, pos);
    wire += len + 1;
    if (wire > DNS_LIMITS.maxNameLength) throw new DnsWireError('NAME_TOO_LONG', `a name longer than 255 octets (at ${start})`, start);
    if (labels) labels.push(formatLabel(buf, pos + 1, len));
    pos += len + 1;
  }
}

/** Reads a name (following pointers anywhere earlier in the message). */
export function readName(r: Reader): string {
  const labels: string[] = [];
  r.offset = walkName(r.buf, r.offset, r.end, labels);
  return labels.length === 0 ? ROOT : labels.join('.');
}
