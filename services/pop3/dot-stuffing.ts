// Multi-line responses (RFC 1939 section 3): every line of the payload that starts with "." gets one
// more "." in front, and the response ends with CRLF "." CRLF. The stuffer works on chunks so a large
// message can be streamed; a line start is any position after LF (a stored message normally uses
// CRLF, and treating a bare LF as a line end is the safe choice: it never lets a "." CRLF through).

const LF = 0x0a;
const DOT = 0x2e;
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');
const LF_DOT = Buffer.from('\n.');
const ONE_DOT = Buffer.from('.');

export class DotStuffer {
  /** Next octet begins a line. */
  private atLineStart = true;
  /** Octets written so far end with LF (or nothing written yet: see `finish`). */
  private endsWithLf = true;
  private any = false;

  /** Returns the chunk with dots stuffed (the same Buffer when nothing needs stuffing). */
  push(chunk: Buffer): Buffer {
    const parts: Buffer[] = [];
    this.pushParts(chunk, parts);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Appends the stuffed chunk to `out` as slices of it (no copy) and single dots. */
  pushParts(chunk: Buffer, out: Buffer[]): void {
    if (chunk.length === 0) return;
    this.any = true;
    this.endsWithLf = chunk[chunk.length - 1] === LF;
    const startsDotted = this.atLineStart && chunk[0] === DOT;
    this.atLineStart = this.endsWithLf;
    if (startsDotted) out.push(ONE_DOT);
    let from = 0;
    let i = chunk.indexOf(LF_DOT);
    while (i >= 0) {
      // Up to and including the LF, then an extra dot; the original dot starts the next slice.
      out.push(chunk.subarray(from, i + 1), ONE_DOT);
      from = i + 1;
      i = chunk.indexOf(LF_DOT, from);
    }
    out.push(from === 0 ? chunk : chunk.subarray(from));
  }

  /** The end of the response: CRLF "." CRLF, or just "." CRLF when the payload already ended a line. */
  finish(): Buffer {
    return !this.any || this.endsWithLf ? TERMINATOR : CRLF_TERMINATOR;
  }
}

/** The status line, the payload dot-stuffed and the terminator, in one buffer (one copy of the payload). */
export function stuffWhole(payload: Buffer, head: Buffer): Buffer {
  const s = new DotStuffer();
  const parts: Buffer[] = [head];
  s.pushParts(payload, parts);
  parts.push(s.finish());
  return Buffer.concat(parts);
}
