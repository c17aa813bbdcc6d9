// Bounds-checked reading and writing of DNS wire data. The Reader throws DnsWireError('TRUNCATED')
// instead of reading past the end; the Writer refuses to grow past 65,535 octets and can run in
// measuring mode, where it only counts, so that encodingLength and encode share one code path
// (compression included).
import { DNS_LIMITS } from './limits.js';
import { DnsWireError } from './wire-error.js';

export class Reader {
  offset: number;

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
    /** Reading stops here (the message's end). */
    readonly end = buf.length,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  need(n: number, what: string): void {
    if (this.offset + n > this.end) throw new DnsWireError('TRUNCATED', `the message ends inside ${what} (needs ${n} octets at ${this.offset})`, this.offset);
  }

  u8(what = 'a field'): number {
    this.need(1, what);
    return this.buf[this.offset++];
  }

  u16(what = 'a field'): number {
    this.need(2, what);
    const v = (this.buf[this.offset] << 8) | this.buf[this.offset + 1];
    this.offset += 2;
    return v;
  }

  u32(what = 'a field'): number {
    this.need(4, what);
    const b = this.buf;
    const o = this.offset;
    this.offset += 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  bytes(n: number, what = 'a field'): Uint8Array {
    this.need(n, what);
    // A copy, never a view into the datagram's buffer.
    const out = new Uint8Array(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }
}

/** One scratch buffer for every encode: encoding is synchronous, and the result is copied out. */
const scratch = Buffer.allocUnsafe(DNS_LIMITS.maxMessageLength);

export class Writer {
  offset = 0;
  /** Name suffix (presentation form, exact case) to the offset where it was written. */
  readonly names = new Map<string, number>();

  constructor(
    /** Count only; write nothing. */
    readonly measure = false,
    private readonly buf: Buffer = scratch,
  ) {}

  private room(n: number): void {
    if (this.offset + n > DNS_LIMITS.maxMessageLength)
      throw new DnsWireError('MESSAGE_TOO_LONG', `the message would be longer than ${DNS_LIMITS.maxMessageLength} octets`, this.offset);
  }

  u8(v: number): void {
    this.room(1);
    if (!this.measure) this.buf[this.offset] = v & 0xff;
    this.offset += 1;
  }

  u16(v: number): void {
    this.room(2);
    if (!this.measure) this.buf.writeUInt16BE(v & 0xffff, this.offset);
    this.offset += 2;
  }

  u32(v: number): void {
    this.room(4);
    if (!this.measure) this.buf.writeUInt32BE(v >>> 0, this.offset);
    this.offset += 4;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    if (!this.measure) this.buf.set(b, this.offset);
    this.offset += b.length;
  }

  /** Writes a 16-bit value at an earlier offset (RDLENGTH after the data). */
  patch16(at: number, v: number): void {
    if (!this.measure) this.buf.writeUInt16BE(v & 0xffff, at);
  }

  /** A copy of what was written. */
  result(): Buffer {
    const out = Buffer.allocUnsafe(this.offset);
    this.buf.copy(out, 0, 0, this.offset);
    return out;
  }
}
