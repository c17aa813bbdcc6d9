// The few header fields the index keeps per message (RFC 3501 section 7.4.2 ENVELOPE and the SEARCH
// header keys), as raw values: unfolded (RFC 5322 section 2.2.3) but not decoded.
//
// The parser works on the octets and decodes only the values it keeps, each into a string of its own:
// slicing one big decoded head would keep the whole head alive behind every value (a V8 sliced string
// holds its parent), which is how 300 messages with a 200 KB Subject once held 60 MB after a restart.
import { decodeFieldValue, scanHeaderFields } from '../mail-format/header-fields.js';

export const INDEXED_HEADERS = ['date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id'] as const;
export type IndexedHeader = (typeof INDEXED_HEADERS)[number];
export type HeaderFields = Partial<Record<IndexedHeader, string>>;

const WANTED = new Set<string>(INDEXED_HEADERS);
/** How much of a message head is read to find the fields. */
export const MAX_HEADER_SCAN = 256 * 1024;

/**
 * What the in-memory index keeps per message. Ordinary mail stays well inside (a Subject of 80
 * characters, a To of a few addresses); anything longer is cut and the message is marked
 * `headersTruncated`, so the exact value is read from the file when someone asks for it.
 */
export const INDEX_LIMITS = {
  /** Characters of one field value. */
  fieldChars: 512,
  /** Characters of all kept values of one message together. */
  totalChars: 1024,
} as const;

/** First occurrence of each indexed field in a message head, complete. Never throws. */
export function parseHeaderFields(head: Buffer): HeaderFields {
  const out: HeaderFields = {};
  scanHeaderFields(head, (name, start, end) => {
    if (WANTED.has(name) && out[name as IndexedHeader] === undefined) out[name as IndexedHeader] = decodeFieldValue(head, start, end);
  });
  return out;
}

/** Cuts `s` to `max` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let n = max;
  const c = s.charCodeAt(n - 1);
  if (c >= 0xd800 && c <= 0xdbff) n--;
  return s.slice(0, n);
}

/**
 * The fields as the index keeps them (INDEX_LIMITS), and whether anything was cut or left out. A value
 * is decoded from at most a few times its character limit of octets, so a 200 KB Subject costs no more
 * than a 2 KB one.
 */
export function indexHeaderFields(head: Buffer): { headers: HeaderFields; truncated: boolean } {
  const out: HeaderFields = {};
  let truncated = false;
  let budget: number = INDEX_LIMITS.totalChars;
  scanHeaderFields(head, (name, start, end) => {
    if (!WANTED.has(name) || out[name as IndexedHeader] !== undefined) return;
    const allowed = Math.min(INDEX_LIMITS.fieldChars, budget);
    // UTF-8 needs at most 4 octets per character, folding adds a few: this many octets are enough.
    const octets = allowed * 4 + 8;
    const clipped = end - start > octets;
    let value = decodeFieldValue(head, start, clipped ? start + octets : end);
    if (clipped || value.length > allowed) {
      truncated = true;
      value = cut(value, allowed);
    }
    out[name as IndexedHeader] = value;
    budget -= value.length;
    if (budget <= 0) {
      // Fields further down may still be wanted: they are left out, and the message says so.
      truncated = truncated || INDEXED_HEADERS.some((h) => out[h] === undefined);
      return false;
    }
  });
  return { headers: out, truncated };
}

/** Caps header values read back from an index file (a hand-edited or older file may hold anything). */
export function capHeaderFields(input: unknown): { headers: HeaderFields; truncated: boolean } | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const out: HeaderFields = {};
  let truncated = false;
  let budget: number = INDEX_LIMITS.totalChars;
  for (const h of INDEXED_HEADERS) {
    const v = (input as Record<string, unknown>)[h];
    if (v === undefined) continue;
    if (typeof v !== 'string') return undefined;
    const allowed = Math.max(0, Math.min(INDEX_LIMITS.fieldChars, budget));
    if (v.length > allowed) truncated = true;
    // A fresh copy of a cut value: a slice would keep the whole parsed file alive.
    out[h] = v.length > allowed ? Buffer.from(cut(v, allowed), 'utf8').toString('utf8') : v;
    budget -= out[h].length;
  }
  return { headers: out, truncated };
}
