// BODY[section]<partial> (RFC 3501 section 6.4.5): part paths, HEADER, HEADER.FIELDS(.NOT), MIME and
// TEXT over the MIME tree, returning the stored octets.
import type { MimePart } from './mime.js';

export interface SectionSpec {
  /** Part numbers ("1.2" -> [1, 2]); empty for the whole message. */
  path: number[];
  specifier: '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  /** Lower-case field names for HEADER.FIELDS(.NOT). */
  fields: string[];
  /** The section text as it is echoed in the response ("1.HEADER.FIELDS (FROM TO)"). */
  text: string;
}

/** Parses what is between the brackets; undefined when it is not a valid section. */
export function parseSection(inner: string): SectionSpec | undefined {
  const m = /^((?:[1-9]\d{0,8})(?:\.[1-9]\d{0,8})*)?(?:(?:^|\.)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)(?:\s+\((.*)\))?)?$/i.exec(inner.trim());
  if (!m) return undefined;
  const path = m[1] ? m[1].split('.').map(Number) : [];
  const specifier = (m[2]?.toUpperCase() ?? '') as SectionSpec['specifier'];
  if (specifier === 'MIME' && path.length === 0) return undefined;
  const isFields = specifier === 'HEADER.FIELDS' || specifier === 'HEADER.FIELDS.NOT';
  if (isFields !== (m[3] !== undefined)) return undefined;
  let fields: string[] = [];
  if (isFields) {
    fields = [];
    const re = /"((?:[^"\\]|\\.)*)"|([^\s"()]+)/g;
    let f: RegExpExecArray | null;
    while ((f = re.exec(m[3])) !== null) fields.push((f[1] !== undefined ? f[1].replace(/\\(.)/g, '$1') : f[2]).toLowerCase());
    if (fields.length === 0) return undefined;
  }
  const upperFields = fields.map((f) => f.toUpperCase());
  const text = [path.join('.'), specifier ? `${specifier}${isFields ? ` (${upperFields.join(' ')})` : ''}` : ''].filter((s) => s.length > 0).join('.');
  return { path, specifier, fields, text };
}

/** The part a path addresses, or undefined. `isMessage` tells whether it is a whole message. */
export function resolvePart(root: MimePart, path: number[]): { part: MimePart; isMessage: boolean } | undefined {
  let cur = root;
  let isMessage = true;
  for (const n of path) {
    // Stepping into a message/rfc822 part addresses the encapsulated message's parts.
    let container = cur;
    if (!isMessage && cur.message) {
      container = cur.message;
    }
    if (container.parts) {
      const next = container.parts[n - 1];
      if (!next) return undefined;
      cur = next;
    } else if (n === 1) {
      // A non-multipart part has exactly one part, itself (RFC 3501 section 6.4.5; Dovecot and
      // Cyrus answer x.1 of a leaf the same way).
      cur = container;
    } else return undefined;
    isMessage = false;
  }
  return { part: cur, isMessage };
}

/** Raw header fields of a header block: [lower-case name, start, end) including folded lines. */
export function rawFields(buf: Buffer, start: number, end: number): Array<[string, number, number]> {
  const out: Array<[string, number, number]> = [];
  let i = start;
  let cur: [string, number, number] | undefined;
  while (i < end) {
    let lf = buf.indexOf(0x0a, i);
    if (lf < 0 || lf >= end) lf = end - 1;
    const lineEnd = lf + 1;
    const first = buf[i];
    if (first === 0x0d || first === 0x0a) break;
    if ((first === 0x20 || first === 0x09) && cur) {
      cur[2] = lineEnd;
    } else {
      if (cur) out.push(cur);
      const colon = buf.indexOf(0x3a, i);
      const name = colon > i && colon < lineEnd ? buf.toString('latin1', i, colon).trim().toLowerCase() : '';
      cur = [name, i, lineEnd];
    }
    i = lineEnd;
  }
  if (cur) out.push(cur);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * A section of `raw`, or undefined when the part does not exist. BODY[] (no part, no specifier) is
 * the whole message: `mime` (the parse) is called only for the others.
 */
export function sectionOf(raw: Buffer, mime: () => MimePart, spec: SectionSpec): Buffer | undefined {
  return spec.path.length === 0 && spec.specifier === '' ? raw : extractSection(raw, mime(), spec);
}

/**
 * A partial (FETCH "<offset.length>", RFC 3501 section 6.4.5; IMAP URL ";PARTIAL=", RFC 5092): the
 * octets from `offset`, at most `length` of them (without a length, all the rest); none past the end.
 */
export function partialOf(data: Buffer, offset: number, length?: number): Buffer {
  return offset >= data.length ? EMPTY : data.subarray(offset, length === undefined ? undefined : offset + length);
}

/** The octets of a section, or undefined when the part does not exist. */
export function extractSection(buf: Buffer, root: MimePart, spec: SectionSpec): Buffer | undefined {
  if (spec.path.length === 0 && spec.specifier === '') return buf.subarray(root.start, root.end);
  const r = resolvePart(root, spec.path);
  if (!r) return undefined;
  const { part, isMessage } = r;
  if (spec.specifier === '') return buf.subarray(part.bodyStart, part.end);
  if (spec.specifier === 'MIME') return buf.subarray(part.start, part.headerEnd);
  // HEADER, HEADER.FIELDS and TEXT apply to a message: the top level or a message/rfc822 part.
  const msg = isMessage ? part : part.message;
  if (!msg) return undefined;
  if (spec.specifier === 'TEXT') return buf.subarray(msg.bodyStart, msg.end);
  if (spec.specifier === 'HEADER') return buf.subarray(msg.start, msg.headerEnd);
  const want = new Set(spec.fields);
  const not = spec.specifier === 'HEADER.FIELDS.NOT';
  const chunks: Buffer[] = [];
  for (const [name, s, e] of rawFields(buf, msg.start, msg.headerEnd)) {
    if (want.has(name) !== not) {
      chunks.push(buf.subarray(s, e));
      if (buf[e - 1] !== 0x0a) chunks.push(Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from('\r\n'));
  return Buffer.concat(chunks);
}
