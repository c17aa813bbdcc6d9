// BDAT content (RFC 3030) is counted octets, not dot-terminated lines, so nothing in it can end the
// message early. To store every message the same way as DATA does (the framer's readDotData turns a
// bare CR or bare LF into CRLF, the 2023 SMTP-smuggling lesson), BDAT content is normalised the same
// way here, across chunk boundaries.
const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

export class CrlfNormalizer {
  private pendingCr = false;
  /** Bare CR or LF sequences rewritten so far. */
  bare = 0;

  /** Returns the normalised octets of `chunk` (a trailing CR is held back until the next octet). */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    if (this.isClean(chunk)) {
      const out: Buffer[] = [];
      if (this.pendingCr) out.push(Buffer.from([CR]));
      this.pendingCr = chunk[chunk.length - 1] === CR;
      out.push(this.pendingCr ? chunk.subarray(0, chunk.length - 1) : chunk);
      return out.filter((b) => b.length > 0);
    }
    const bytes: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.pendingCr) {
        this.pendingCr = false;
        bytes.push(CR, LF);
        if (c === LF) continue;
        this.bare++;
      }
      if (c === CR) this.pendingCr = true;
      else if (c === LF) {
        this.bare++;
        bytes.push(CR, LF);
      } else bytes.push(c);
    }
    return bytes.length > 0 ? [Buffer.from(bytes)] : [];
  }

  /** The end of the message: a held CR becomes CRLF. */
  end(): Buffer[] {
    if (!this.pendingCr) return [];
    this.pendingCr = false;
    this.bare++;
    return [CRLF];
  }

  /** No bare CR or LF inside the chunk, and the chunk does not start with LF after nothing / CR issues. */
  private isClean(chunk: Buffer): boolean {
    if (this.pendingCr && chunk[0] !== LF) return false;
    for (let i = chunk.indexOf(LF); i >= 0; i = chunk.indexOf(LF, i + 1)) {
      if (i === 0 ? !this.pendingCr : chunk[i - 1] !== CR) return false;
    }
    for (let i = chunk.indexOf(CR); i >= 0; i = chunk.indexOf(CR, i + 1)) {
      if (i < chunk.length - 1 && chunk[i + 1] !== LF) return false;
    }
    return true;
  }
}
