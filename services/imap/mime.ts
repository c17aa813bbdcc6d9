// A MIME tree over one message buffer (RFC 2045, RFC 2046), parsed lazily and only as far as FETCH
// needs: header/body offsets, Content-* fields and multipart / message/rfc822 children. Offsets point
// into the original octets, so BODY[section] returns exactly what was stored. Header text is kept as
// binary strings (one char per octet): 8-bit headers pass through untouched.
import { parseHeaderFields, type HeaderField } from '../../core/mail-format/header-fields.js';
import { IMAP_LIMITS } from './limits.js';

// Header text is parsed by the one header-field parser, from a binary string (values stay binary).
export { parseHeaderFields, type HeaderField };

export interface ContentType {
  type: string;
  subtype: string;
  params: Array<[string, string]>;
}

export interface MimePart {
  /** Offsets into the message buffer. */
  start: number;
  /** Where the body starts (after the blank line; equals `end` if there is none). */
  bodyStart: number;
  /** Length of the header block including the blank line. */
  headerEnd: number;
  end: number;
  headers: HeaderField[];
  contentType: ContentType;
  /** Children of a multipart. */
  parts?: MimePart[];
  /** The encapsulated message of a message/rfc822 part. */
  message?: MimePart;
}

const LF = 0x0a;
const CR = 0x0d;

/** Where the header block ends: the offset after the empty line (or the end when there is none). */
export function findBodyStart(buf: Buffer, start: number, end: number): { headerEnd: number; bodyStart: number } {
  // An empty header block: the part starts with its blank line.
  if (buf[start] === LF) return { headerEnd: start + 1, bodyStart: start + 1 };
  if (buf[start] === CR && buf[start + 1] === LF) return { headerEnd: start + 2, bodyStart: start + 2 };
  let i = start;
  while (i < end) {
    const lf = buf.indexOf(LF, i);
    if (lf < 0 || lf >= end) break;
    const n = buf[lf + 1];
    if (n === LF) return { headerEnd: lf + 2, bodyStart: lf + 2 };
    if (n === CR && buf[lf + 2] === LF && lf + 2 < end) return { headerEnd: lf + 3, bodyStart: lf + 3 };
    i = lf + 1;
  }
  return { headerEnd: end, bodyStart: end };
}

export function headerValue(part: { headers: HeaderField[] }, key: string): string | undefined {
  for (const h of part.headers) if (h.key === key) return h.value;
  return undefined;
}

/** Removes RFC 5322 comments (nested, with quoted pairs) outside quoted strings. */
export function stripComments(s: string): string {
  if (!s.includes('(')) return s;
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (depth === 0 && c === '"') quoted = !quoted;
    if (!quoted) {
      if (c === '(') {
        depth++;
        continue;
      }
      if (c === ')' && depth > 0) {
        depth--;
        if (depth === 0) out += ' ';
        continue;
      }
    }
    if (depth === 0) out += c;
  }
  return out;
}

/**
 * Splits "value; a=1; b="x;y"" into the value and its parameters. RFC 2231 continuations
 * (name*0, name*1*) are joined into one parameter, keeping the "name*" form when any piece is
 * extended so the charset stays known to the client.
 */
export function parseParamHeader(raw: string): { value: string; params: Array<[string, string]> } {
  const s = stripComments(raw);
  const pieces: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      pieces.push(cur);
      cur = '';
    } else cur += c;
  }
  pieces.push(cur);
  const value = (pieces.shift() ?? '').trim();
  const plain: Array<[string, string]> = [];
  const continued = new Map<string, { parts: Array<{ n: number; v: string; ext: boolean }> }>();
  for (const p of pieces) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"')) v = v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    if (!key || /\s/.test(key)) continue;
    const m = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (m && (m[2] !== undefined || m[3] !== undefined || key.endsWith('*'))) {
      const name = m[1];
      const n = m[2] === undefined ? 0 : Number(m[2]);
      const ext = m[3] !== undefined || (m[2] === undefined && key.endsWith('*'));
      let entry = continued.get(name);
      if (!entry) continued.set(name, (entry = { parts: [] }));
      if (entry.parts.length < 100) entry.parts.push({ n, v, ext });
      continue;
    }
    plain.push([key, v]);
  }
  for (const [name, { parts }] of continued) {
    parts.sort((a, b) => a.n - b.n);
    const anyExt = parts.some((p) => p.ext);
    if (!anyExt) {
      plain.push([name, parts.map((p) => p.v).join('')]);
      continue;
    }
    // Non-extended pieces of an extended parameter are literal text: percent-encode what needs it.
    const joined = parts
      .map((p) => (p.ext ? p.v : p.v.replace(/[%\s*'()<>@,;:\\"/[\]?=\x80-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)))
      .join('');
    if (!plain.some(([k]) => k === name)) plain.push([`${name}*`, joined]);
  }
  return { value, params: plain };
}

export function parseContentType(raw: string | undefined, defaultType: ContentType): ContentType {
  if (raw === undefined) return defaultType;
  const { value, params } = parseParamHeader(raw);
  const m = /^([^/\s]+)\s*\/\s*([^\s]+)$/.exec(value);
  if (!m) return { ...defaultType, params: defaultType.params.length > 0 && params.length === 0 ? defaultType.params : params };
  const type = m[1].toLowerCase();
  // RFC 2045 section 5.2: text without parameters is us-ascii; say so, as Dovecot does.
  return { type, subtype: m[2].toLowerCase(), params: type === 'text' && params.length === 0 ? [['charset', 'us-ascii']] : params };
}

const TEXT_PLAIN: ContentType = { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
const MESSAGE_RFC822: ContentType = { type: 'message', subtype: 'rfc822', params: [] };

interface ParseBudget {
  parts: number;
}

/** Parses the MIME tree of the message in buf[start, end). */
export function parseMime(buf: Buffer, start = 0, end = buf.length): MimePart {
  return parsePart(buf, start, end, TEXT_PLAIN, 0, { parts: 0 });
}

function parsePart(buf: Buffer, start: number, end: number, defaultType: ContentType, depth: number, budget: ParseBudget): MimePart {
  budget.parts++;
  const { headerEnd, bodyStart } = findBodyStart(buf, start, end);
  const headers = parseHeaderFields(buf.toString('latin1', start, headerEnd));
  const contentType = parseContentType(headerValue({ headers }, 'content-type'), defaultType);
  const part: MimePart = { start, bodyStart, headerEnd, end, headers, contentType };
  if (depth >= IMAP_LIMITS.maxMimeDepth || budget.parts >= IMAP_LIMITS.maxMimeParts) return part;
  if (contentType.type === 'multipart') {
    const boundary = contentType.params.find(([k]) => k === 'boundary')?.[1];
    const childDefault = contentType.subtype === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN;
    part.parts = boundary ? splitMultipart(buf, bodyStart, end, boundary).map(([s, e]) => parsePart(buf, s, e, childDefault, depth + 1, budget)) : [];
  } else if (contentType.type === 'message' && (contentType.subtype === 'rfc822' || contentType.subtype === 'global')) {
    const enc = headerValue(part, 'content-transfer-encoding')?.toLowerCase();
    // An encoded message/rfc822 cannot be looked into (RFC 2046 section 5.2.1 forbids it anyway).
    if (enc === undefined || enc === '7bit' || enc === '8bit' || enc === 'binary') {
      part.message = parsePart(buf, bodyStart, end, TEXT_PLAIN, depth + 1, budget);
    }
  }
  return part;
}

/**
 * Body parts of a multipart (RFC 2046 section 5.1.1): a delimiter is "--boundary" at the start of a
 * line; the CRLF before it belongs to the delimiter. The close delimiter is "--boundary--".
 */
export function splitMultipart(buf: Buffer, start: number, end: number, boundary: string): Array<[number, number]> {
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const out: Array<[number, number]> = [];
  let partStart = -1;
  let i = start;
  while (i < end) {
    const at = buf.indexOf(delim, i);
    if (at < 0 || at + delim.length > end) break;
    const atLineStart = at === start || buf[at - 1] === LF;
    if (!atLineStart) {
      i = at + 1;
      continue;
    }
    const after = at + delim.length;
    const isClose = buf[after] === 0x2d && buf[after + 1] === 0x2d;
    // The rest of the delimiter line must be white space (transport padding).
    let j = isClose ? after + 2 : after;
    while (j < end && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    if (!isClose && j < end && buf[j] !== CR && buf[j] !== LF) {
      i = at + 1;
      continue;
    }
    if (partStart >= 0) {
      let pe = at;
      if (pe > partStart && buf[pe - 1] === LF) pe--;
      if (pe > partStart && buf[pe - 1] === CR) pe--;
      out.push([partStart, Math.max(partStart, pe)]);
    }
    if (isClose) return out;
    // Skip to the next line.
    const lf = buf.indexOf(LF, j);
    partStart = lf < 0 || lf >= end ? end : lf + 1;
    i = partStart;
    if (out.length >= IMAP_LIMITS.maxMimeParts) return out;
  }
  // No close delimiter: the last part runs to the end.
  if (partStart >= 0) out.push([partStart, end]);
  return out;
}

/**
 * Number of lines in buf[start, end) for BODYSTRUCTURE: the line feeds. An unterminated last line
 * (the CRLF before a boundary belongs to the boundary) is not counted, as Dovecot and Cyrus do.
 */
export function countLines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  let i = buf.indexOf(LF, start);
  while (i >= 0 && i < end) {
    n++;
    i = buf.indexOf(LF, i + 1);
  }
  return n;
}
