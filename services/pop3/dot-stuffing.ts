// Multi-line responses (RFC 1939 section 3): every line of the payload that starts with "." gets one
// more "." in front, and the response ends with CRLF "." CRLF. The stuffer works on chunks so a large
// message can be streamed; a line start is any position after LF (a stored message normally uses
// CRLF, and treating a bare LF as a line end is the safe choice: it never lets a "." CRLF through).

const LF = 0x0a;
const DOT = 0x2e;
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');
const LF_DOT = Buffer.from('\n.');

export class DotStuffer {
  /** Next octet begins a line. */
  private atLineStart = true;
  /** Octets written so far end with LF (or nothing written yet: see `finish`). */
  private endsWithLf = true;
  private any = false;

  /** Returns the chunk with dots stuffed (the same Buffer when nothing needs stuffing). */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    this.any = true;
    this.endsWithLf = chunk[chunk.length - 1] === LF;
    const startsDotted = this.atLineStart && chunk[0] === DOT;
    this.atLineStart = this.endsWithLf;
    let i = chunk.indexOf(LF_DOT);
    if (i < 0 && !startsDotted) return chunk;
    const parts: Buffer[] = [];
    let from = 0;
    if (startsDotted) parts.push(Buffer.from('.'));
    while (i >= 0) {
      // Copy up to and including the LF, then an extra dot; the original dot follows in the next part.
      parts.push(chunk.subarray(from, i + 1), Buffer.from('.'));
      from = i + 1;
      i = chunk.indexOf(LF_DOT, from);
    }
    parts.push(chunk.subarray(from));
    return Buffer.concat(parts);
  }

  /** The end of the response: CRLF "." CRLF, or just "." CRLF when the payload already ended a line. */
  finish(): Buffer {
    return !this.any || this.endsWithLf ? TERMINATOR : CRLF_TERMINATOR;
  }
}

/** Dot-stuffs a whole payload and appends the terminator (one buffer, ready to write). */
export function stuffWhole(payload: Buffer, head: Buffer): Buffer {
  const s = new DotStuffer();
  const body = s.push(payload);
  return Buffer.concat([head, body, s.finish()]);
}
