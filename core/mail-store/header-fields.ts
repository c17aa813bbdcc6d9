// The few header fields the index keeps per message (RFC 3501 section 7.4.2 ENVELOPE and the SEARCH
// header keys), as raw values: unfolded (RFC 5322 section 2.2.3) but not decoded.
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
  const text = head.subarray(0, headerLength(head)).toString('utf8');
  const out: HeaderFields = {};
  let name = '';
  let value = '';
  const flush = (): void => {
    if (name && WANTED.has(name) && out[name as IndexedHeader] === undefined) out[name as IndexedHeader] = value.trim();
    name = '';
    value = '';
  };
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0) break;
    if (line[0] === ' ' || line[0] === '\t') {
      if (name) value += line; // unfolding removes the CRLF only
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  return out;
}
