// TOP msg n (RFC 1939 section 7): the header, the blank line after it, then the first n lines of the
// body (all of it if it is shorter). Works on chunks so a large message is never loaded for TOP.

const LF = 0x0a;
const CR = 0x0d;

export class TopFilter {
  private inHeader = true;
  /** Octets of the current line seen so far (before its LF), and whether they are all CR. */
  private lineLen = 0;
  private lineOnlyCr = true;
  private remaining: number;
  done = false;

  constructor(bodyLines: number) {
    this.remaining = bodyLines;
  }

  /** The part of `chunk` that belongs in the TOP response; sets `done` once the rest is not wanted. */
  push(chunk: Buffer): Buffer {
    if (this.done) return chunk.subarray(0, 0);
    let from = 0;
    for (;;) {
      const j = chunk.indexOf(LF, from);
      if (j < 0) {
        this.note(chunk, from, chunk.length);
        return chunk;
      }
      this.note(chunk, from, j);
      const empty = this.lineLen === 0 || (this.lineLen === 1 && this.lineOnlyCr);
      this.lineLen = 0;
      this.lineOnlyCr = true;
      from = j + 1;
      if (this.inHeader) {
        if (empty) {
          this.inHeader = false;
          if (this.remaining === 0) return this.stop(chunk, from);
        }
      } else if (--this.remaining === 0) {
        return this.stop(chunk, from);
      }
    }
  }

  private note(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.lineLen += to - from;
    if (this.lineOnlyCr) {
      for (let i = from; i < to; i++) {
        if (chunk[i] !== CR) {
          this.lineOnlyCr = false;
          break;
        }
      }
    }
  }

  private stop(chunk: Buffer, end: number): Buffer {
    this.done = true;
    return chunk.subarray(0, end);
  }
}
