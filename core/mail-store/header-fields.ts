// The few header fields the index keeps per message (RFC 3501 section 7.4.2 ENVELOPE and the SEARCH
// header keys), as raw values: unfolded (RFC 5322 section 2.2.3) but not decoded. The fields are read
// by the one header-field parser (core/mail-format/header-fields.ts).
import { forEachHeaderField } from '../mail-format/header-fields.js';

export const INDEXED_HEADERS = ['date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id'] as const;
export type IndexedHeader = (typeof INDEXED_HEADERS)[number];
export type HeaderFields = Partial<Record<IndexedHeader, string>>;

const WANTED = new Set<string>(INDEXED_HEADERS);
/** How much of a message head is read to find the fields. */
export const MAX_HEADER_SCAN = 256 * 1024;

/** Length of the header block including the blank line (CRLF CRLF or LF LF), or the whole buffer. */
export function headerLength(buf: Buffer): number {
  for (let i = buf.indexOf(0x0a); i >= 0 && i < buf.length; i = buf.indexOf(0x0a, i + 1)) {
    if (i === 0) return 1;
    const next = buf[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return buf.length;
}

/** First occurrence of each indexed field in a message head. Never throws. */
export function parseHeaderFields(head: Buffer): HeaderFields {
  const out: HeaderFields = {};
  forEachHeaderField(head.toString('utf8', 0, headerLength(head)), (key, value) => {
    if (WANTED.has(key) && out[key as IndexedHeader] === undefined) out[key as IndexedHeader] = value;
  });
  return out;
}
