// The one header-field parser (RFC 5322 section 2.2) for everything that reads message heads: the
// mail store's index (Subject, From, Date... for ENVELOPE and SEARCH) and IMAP's MIME parser
// (Content-* fields). It works on text the caller decoded (UTF-8 for the index, binary strings for
// IMAP) and never throws. It scans octets (scanHeaderFields), so a reader that keeps a few values of
// a big head decodes only those.

export interface HeaderField {
  /** Lower-case field name. */
  key: string;
  /** Unfolded value, leading and trailing white space removed. */
  value: string;
}

/** Length of the header block including the blank line (CRLF CRLF or LF LF), or the whole buffer. */
export function headerLength(buf: Uint8Array): number {
  for (let i = buf.indexOf(0x0a); i >= 0 && i < buf.length; i = buf.indexOf(0x0a, i + 1)) {
    if (i === 0) return 1;
    const next = buf[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return buf.length;
}

/** Field names longer than this are not fields anyone reads (the longest standard one is 27 octets). */
const MAX_NAME = 76;

/**
 * The scanner every reader of message heads uses. Calls `visit(name, valueStart, valueEnd)` for each
 * field of the head in order, until the blank line that ends the header (or the end of `head`) or until
 * `visit` returns false. The value's octets run from after the colon to the end of the field's last line
 * and still include the folding line breaks (decodeFieldValue removes them). A field needs a colon and a
 * name without white space (leading and trailing white space around the name is allowed); other lines
 * are skipped, and so is a continuation line with no field to continue. Folded lines are those starting
 * with SP or HTAB (section 2.2.3). Linear in the head's length; never throws.
 */
export function scanHeaderFields(head: Buffer, visit: (name: string, valueStart: number, valueEnd: number) => boolean | void): void {
  const end = headerLength(head);
  let pos = 0;
  while (pos < end) {
    let eol = head.indexOf(0x0a, pos);
    if (eol < 0 || eol >= end) eol = end;
    const lineEnd = eol > pos && head[eol - 1] === 0x0d ? eol - 1 : eol;
    if (lineEnd === pos) return; // the blank line
    // Continuation lines of this field: every following line that starts with SP or HTAB.
    let fieldEnd = eol;
    while (fieldEnd + 1 < end && (head[fieldEnd + 1] === 0x20 || head[fieldEnd + 1] === 0x09)) {
      const next = head.indexOf(0x0a, fieldEnd + 1);
      fieldEnd = next < 0 || next >= end ? end : next;
    }
    const first = head[pos];
    // A continuation line with no field before it (the first line of the head) is skipped.
    if (first !== 0x20 && first !== 0x09) {
      const colon = head.indexOf(0x3a, pos);
      if (colon > pos && colon < lineEnd && colon - pos <= MAX_NAME) {
        const name = head.toString('latin1', pos, colon).trim().toLowerCase();
        if (name.length > 0 && !/\s/.test(name) && visit(name, colon + 1, Math.min(fieldEnd, end)) === false) return;
      }
    }
    pos = fieldEnd + 1;
  }
}

/** A field value's octets decoded: the line breaks of folding removed (unfolding), then trimmed. */
export function decodeFieldValue(head: Buffer, start: number, end: number, encoding: BufferEncoding = 'utf8'): string {
  return head.toString(encoding, start, end).replace(/\r?\n/g, '').replace(/\r$/, '').trim();
}

/**
 * Calls `visit` for each field of a header block given as text (UTF-8 or a binary string: both
 * round-trip), in order, until the first empty line or until `visit` returns false: scanHeaderFields
 * over the text's octets.
 */
export function forEachHeaderField(text: string, visit: (key: string, value: string) => boolean | void): void {
  const head = Buffer.from(text, 'utf8');
  scanHeaderFields(head, (name, start, end) => visit(name, decodeFieldValue(head, start, end)));
}

/** Every field of a header block, in order. */
export function parseHeaderFields(text: string): HeaderField[] {
  const out: HeaderField[] = [];
  forEachHeaderField(text, (key, value) => {
    out.push({ key, value });
  });
  return out;
}
