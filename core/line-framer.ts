// One framer for every line protocol (SMTP, POP3, IMAP, HTTP heads). It is pull-based: a session
// awaits the next frame (`readLine`, `readHead`, `readBytes`, `readChunk`, `readDotData`), so a
// session that is busy simply stops pulling. Whatever has arrived but not been pulled is buffered up
// to `highWaterMark`; past that the source socket is paused, so a client that sends faster than we
// process never makes memory grow without bound (TCP flow control pushes back on the client).

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_BYTE = Buffer.from('.');
/**
 * readDotData copies pieces shorter than DOT_DATA_DIRECT into blocks (the first DOT_DATA_FIRST_BLOCK
 * octets, each next one twice as large up to DOT_DATA_BLOCK) and hands longer ones on as slices of
 * the input. A typical message (a few KiB, one run of lines between the DATA reply and the final dot)
 * reaches the sink as the one slice it arrived in: no copy, and no 64 KiB block per message.
 */
const DOT_DATA_BLOCK = 64 * 1024;
const DOT_DATA_FIRST_BLOCK = 4 * 1024;
const DOT_DATA_DIRECT = 512;

export type FramerErrorCode = 'LINE_TOO_LONG' | 'HEAD_TOO_LARGE';

export class FramerError extends Error {
  constructor(
    readonly code: FramerErrorCode,
    readonly limit: number,
  ) {
    super(code === 'LINE_TOO_LONG' ? `line longer than ${limit} octets` : `header block larger than ${limit} octets`);
    this.name = 'FramerError';
  }
}

export interface FramerOptions {
  /** Longest line `readLine` accepts (without the line ending). */
  maxLineLength: number;
  /** Unread octets buffered before the source is paused. Default 64 KiB (at least maxLineLength+2). */
  highWaterMark?: number;
}

export interface DotDataResult {
  /** Octets of message content after dot-unstuffing, including any over the limit. */
  size: number;
  /** True when the content exceeded maxSize: the sink stopped receiving at the limit. */
  overflow: boolean;
  /** Bare CR or LF sequences seen (normalised to CRLF in what the sink received). */
  bareLineEndings: number;
}

const enum Dot {
  /** Beginning of a line after a real CRLF (dot-unstuffing and end-of-data apply). */
  Bol,
  /** Beginning of a line after a bare LF or CR: nothing special, the dot is content. */
  BolLoose,
  Mid,
  /** Saw CR. */
  Cr,
  /** Saw "." at Bol. */
  BolDot,
  /** Saw ".\r" at Bol. */
  BolDotCr,
}

/** What the framer reads from: a Transport (core/transport.ts) or any Readable stream. */
export interface FramerSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export class LineFramer {
  private buf: Buffer = EMPTY;
  private off = 0;
  /** How far past `off` the current search for a delimiter has already looked. */
  private scanned = 0;
  private source: FramerSource | undefined;
  private paused = false;
  private ended = false;
  private waiter: (() => void) | undefined;
  private readonly maxLineLength: number;
  private readonly highWaterMark: number;
  /** Octets received from the source(s) so far. */
  bytesIn = 0;
  /** Called with every chunk received (activity tracking, accounting). */
  onData: ((n: number) => void) | undefined;

  constructor(options: FramerOptions) {
    this.maxLineLength = options.maxLineLength;
    this.highWaterMark = Math.max(options.highWaterMark ?? 64 * 1024, options.maxLineLength + 2);
  }

  /** Unread octets. */
  get buffered(): number {
    return this.buf.length - this.off;
  }

  get isEnded(): boolean {
    return this.ended && this.buffered === 0;
  }

  attach(source: FramerSource): void {
    this.detach();
    this.source = source;
    this.ended = false;
    this.paused = false;
    source.on('data', this.handleData);
    source.on('end', this.handleEnd);
    source.on('close', this.handleEnd);
  }

  /**
   * Stops reading from the current source and returns the octets that arrived but were not pulled.
   * A STARTTLS upgrade throws them away: a client may not pipeline past STARTTLS (RFC 3207 section
   * 4.2; CVE-2011-0411 was servers executing such plaintext commands after the handshake).
   */
  detach(): Buffer {
    const s = this.source;
    if (s) {
      s.off('data', this.handleData);
      s.off('end', this.handleEnd);
      s.off('close', this.handleEnd);
      this.source = undefined;
    }
    return this.takeBuffered();
  }

  takeBuffered(): Buffer {
    const rest = this.buf.subarray(this.off);
    this.buf = EMPTY;
    this.off = 0;
    this.scanned = 0;
    this.maybeResume();
    return rest;
  }

  /** Feeds data directly (tests, or sources that are not streams). */
  push(chunk: Buffer): void {
    this.handleData(chunk);
  }

  /** Marks the end of input (tests). */
  end(): void {
    this.handleEnd();
  }

  private readonly handleData = (chunk: Buffer | string): void => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytesIn += data.length;
    this.onData?.(data.length);
    if (this.off >= this.buf.length) {
      this.buf = data;
      this.off = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.off), data]);
      this.off = 0;
    }
    if (!this.paused && this.source && this.buffered >= this.highWaterMark) {
      this.paused = true;
      this.source.pause();
    }
    this.wake();
  };

  private readonly handleEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  private wake(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w();
    }
  }

  private maybeResume(): void {
    if (this.paused && this.source && this.buffered < this.highWaterMark) {
      this.paused = false;
      this.source.resume();
    }
  }

  /** Waits for more input; false when the input has ended. */
  private more(): Promise<boolean> {
    if (this.ended) return Promise.resolve(false);
    // The consumer wants more: never stay paused while it waits (the buffer may hold a huge partial
    // line that the consumer will discard).
    if (this.paused && this.source) {
      this.paused = false;
      this.source.resume();
    }
    return new Promise((resolve) => {
      this.waiter = () => resolve(true);
    });
  }

  private consume(n: number): Buffer {
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    this.scanned = 0;
    if (this.off >= this.buf.length) {
      this.buf = EMPTY;
      this.off = 0;
    }
    this.maybeResume();
    return out;
  }

  /**
   * The next line without its line ending (CRLF, or a bare LF). Resolves null at end of input (a
   * partial last line is dropped). A line longer than `max` is read to its end and discarded, then
   * FramerError LINE_TOO_LONG is thrown, so the session can answer once and go on.
   */
  async readLine(max: number = this.maxLineLength): Promise<Buffer | null> {
    let discarding = false;
    for (;;) {
      const avail = this.buf.length - this.off;
      const from = this.off + this.scanned;
      const i = avail > this.scanned ? this.buf.indexOf(LF, from) : -1;
      if (i >= 0) {
        const lineLen = i - this.off;
        const end = lineLen > 0 && this.buf[i - 1] === CR ? i - 1 : i;
        const line = this.buf.subarray(this.off, end);
        this.consume(lineLen + 1);
        if (discarding || line.length > max) throw new FramerError('LINE_TOO_LONG', max);
        return line;
      }
      if (avail > max + 1) {
        // Too long already: drop what we have and keep dropping until the line ends.
        discarding = true;
        this.consume(avail);
      } else {
        this.scanned = avail;
      }
      if (!(await this.more())) {
        if (discarding) throw new FramerError('LINE_TOO_LONG', max);
        return null;
      }
    }
  }

  /**
   * Everything up to and including the first empty line (an HTTP head). Lines may end in CRLF or a
   * bare LF. Resolves null at end of input. Throws HEAD_TOO_LARGE past `max` octets (nothing more is
   * read: the caller answers and closes).
   */
  async readHead(max: number): Promise<Buffer | null> {
    for (;;) {
      const head = this.tryReadHead(max);
      if (head !== undefined) return head;
      if (!(await this.more())) return null;
    }
  }

  /**
   * Synchronous `readHead`: the head if a complete one is buffered, undefined if more input is needed
   * (see `onReadable`). Throws HEAD_TOO_LARGE past `max` octets. Lets a session answer a request
   * inside the 'data' event that completed it, without a promise per request.
   */
  tryReadHead(max: number): Buffer | undefined {
    const avail = this.buf.length - this.off;
    // Resume scanning a little before where we stopped: the delimiter may straddle chunks.
    let from = this.off + Math.max(0, this.scanned - 3);
    while (avail > 0) {
      const i = this.buf.indexOf(LF, from);
      if (i < 0 || i - this.off >= max + 4) break;
      const next = this.buf[i + 1];
      if (next === LF) return this.consume(i + 2 - this.off);
      if (next === CR && i + 2 < this.buf.length && this.buf[i + 2] === LF) return this.consume(i + 3 - this.off);
      if (next === undefined || (next === CR && i + 2 >= this.buf.length)) break;
      from = i + 1;
    }
    if (avail > max) throw new FramerError('HEAD_TOO_LARGE', max);
    this.scanned = avail;
    return undefined;
  }

  /**
   * A complete line (up to a line feed) is buffered, so `readLine` will not wait. Session loops use
   * it to hold the replies of pipelined commands and write them once the pipeline runs dry.
   */
  hasLine(): boolean {
    return this.buf.indexOf(LF, this.off) >= 0;
  }

  /** Waits until at least one octet is buffered and returns what is buffered, without consuming it. Null at end. */
  async peek(): Promise<Buffer | null> {
    while (this.buf.length - this.off === 0) {
      if (!(await this.more())) return null;
    }
    return this.buf.subarray(this.off);
  }

  /** The source has ended (what is buffered may still be read). */
  get inputEnded(): boolean {
    return this.ended;
  }

  /**
   * Calls `cb` once, when more input arrives or the input ends (callback form of the internal wait,
   * for sessions that run without a promise per frame). Calls it on the next microtask if the input
   * has already ended. One waiter at a time.
   */
  onReadable(cb: () => void): void {
    if (this.ended) {
      queueMicrotask(cb);
      return;
    }
    if (this.paused && this.source) {
      this.paused = false;
      this.source.resume();
    }
    this.waiter = cb;
  }

  /**
   * Exactly `n` octets (collected into one buffer). Null if input ends first. A large count (an IMAP
   * literal of many megabytes) is taken piece by piece as it arrives and joined once at the end: the
   * buffer is never re-copied per incoming chunk, which would make the cost quadratic in `n`.
   */
  async readBytes(n: number): Promise<Buffer | null> {
    if (this.buf.length - this.off >= n) return this.consume(n);
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      while (this.buf.length - this.off === 0) {
        if (!(await this.more())) return null;
      }
      const piece = this.consume(Math.min(left, this.buf.length - this.off));
      parts.push(piece);
      left -= piece.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }

  /** Between 1 and `max` octets, as soon as any are available (streaming counted data). Null at end. */
  async readChunk(max: number): Promise<Buffer | null> {
    while (this.buf.length - this.off === 0) {
      if (!(await this.more())) return null;
    }
    return this.consume(Math.min(max, this.buf.length - this.off));
  }

  /**
   * SMTP DATA content (RFC 5321 section 4.1.1.4 and 4.5.2): streams the dot-unstuffed content to
   * `sink` until the line "." that follows a real CRLF. Only CRLF "." CRLF ends the data: a bare LF or
   * bare CR never does (the 2023 SMTP smuggling class); such sequences are passed on normalised to
   * CRLF, and a dot after them is content, not stuffing. The data starts at the beginning of a line.
   * Past `maxSize` the sink receives nothing more but the data is still read to its end. Resolves
   * null if the input ends before the end of data.
   */
  async readDotData(sink: (chunk: Buffer) => void, maxSize: number): Promise<DotDataResult | null> {
    let state: Dot = Dot.Bol;
    let size = 0;
    let bare = 0;
    let overflow = false;
    // A bare LF or CR (not part of CRLF): passed on as CRLF, and the next line is "loose" (no
    // dot-stuffing, never the end of data).
    const bareLineEnd = (): void => {
      bare++;
      emit(CRLF);
      state = Dot.BolLoose;
    };
    // Small pieces (every line ending, short lines, unstuffed dots) are copied into one block that is
    // handed to the sink when full, so a message of millions of empty or short lines reaches the sink
    // as a few blocks, not one entry per line; long runs go through as the slices they are.
    let block: Buffer | undefined;
    let blockUsed = 0;
    let nextBlockSize = DOT_DATA_FIRST_BLOCK;
    const flushBlock = (): void => {
      if (block !== undefined && blockUsed > 0) sink(block.subarray(0, blockUsed));
      block = undefined;
      blockUsed = 0;
    };
    const emit = (b: Buffer): void => {
      if (b.length === 0) return;
      size += b.length;
      if (overflow) return;
      if (size > maxSize) {
        overflow = true;
        return;
      }
      if (b.length >= DOT_DATA_DIRECT) {
        flushBlock();
        sink(b);
        return;
      }
      if (block !== undefined && blockUsed + b.length > block.length) flushBlock();
      if (block === undefined) {
        block = Buffer.allocUnsafeSlow(nextBlockSize);
        nextBlockSize = Math.min(nextBlockSize * 2, DOT_DATA_BLOCK);
      }
      b.copy(block, blockUsed);
      blockUsed += b.length;
    };
    for (;;) {
      const buf = this.buf;
      let i = this.off;
      const len = buf.length;
      let done = false;
      let runStart = -1; // start of a run of plain content bytes to emit as one slice
      const flushRun = (to: number): void => {
        if (runStart >= 0) {
          emit(buf.subarray(runStart, to));
          runStart = -1;
        }
      };
      while (i < len && !done) {
        const c = buf[i];
        switch (state) {
          case Dot.Mid: {
            // Fast path: jump to the next CR or LF.
            let j = i;
            while (j < len) {
              const d = buf[j];
              if (d === CR || d === LF) break;
              j++;
            }
            if (runStart < 0 && j > i) runStart = i;
            i = j;
            if (i >= len) break;
            // A real CRLF is content as it stands: the run goes on through it (one slice for many lines).
            if (buf[i] === CR && i + 1 < len && buf[i + 1] === LF) {
              if (runStart < 0) runStart = i;
              i += 2;
              state = Dot.Bol;
              break;
            }
            flushRun(i);
            if (buf[i] === CR) state = Dot.Cr;
            else {
              bareLineEnd();
            }
            i++;
            break;
          }
          case Dot.Bol:
            // An empty line or the start of a plain one continues the run; a dot, a bare line end or a
            // CRLF split across reads ends it.
            if (c === CR && i + 1 < len && buf[i + 1] === LF) {
              if (runStart < 0) runStart = i;
              i += 2;
              break;
            }
            if (c !== DOT && c !== CR && c !== LF) {
              if (runStart < 0) runStart = i;
              state = Dot.Mid;
              i++;
              break;
            }
            flushRun(i);
            if (c === DOT) state = Dot.BolDot;
            else if (c === CR) state = Dot.Cr;
            else if (c === LF) {
              bareLineEnd();
            } else {
              runStart = i;
              state = Dot.Mid;
            }
            i++;
            break;
          case Dot.BolLoose:
            if (c === CR) state = Dot.Cr;
            else if (c === LF) bareLineEnd();
            else {
              runStart = i;
              state = Dot.Mid;
            }
            i++;
            break;
          case Dot.Cr:
            if (c === LF) {
              emit(CRLF);
              state = Dot.Bol;
              i++;
            } else {
              // Bare CR: normalise, and reprocess this byte at the start of a loose line.
              bareLineEnd();
            }
            break;
          case Dot.BolDot:
            if (c === CR) {
              state = Dot.BolDotCr;
              i++;
            } else if (c === LF) {
              // ".\n" is not the end of data; the dot stays content.
              emit(DOT_BYTE);
              state = Dot.BolLoose;
            } else {
              // Dot-stuffing: drop the leading dot, the rest of the line is content.
              runStart = i;
              state = Dot.Mid;
              i++;
            }
            break;
          case Dot.BolDotCr:
            if (c === LF) {
              done = true;
              i++;
            } else {
              emit(DOT_BYTE);
              bareLineEnd();
            }
            break;
        }
      }
      flushRun(i);
      // Consume what we processed (keeps pipelined commands after the end of data in the buffer).
      this.consume(i - this.off);
      if (done) {
        flushBlock();
        return { size, overflow, bareLineEndings: bare };
      }
      if (!(await this.more())) return null;
    }
  }
}
