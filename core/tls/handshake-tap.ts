// The TLS handshake tap: a thin stream view between the accepted TCP socket and the TLS engine
// (`new tls.TLSSocket(view)`), so the raw records of both directions pass through JavaScript. It only
// keeps references to the chunks (no copy, no parsing) while the handshake runs and a few records
// after it, plus the connection's key-log lines; the capture lives in a bounded ring of recent
// handshakes and is decoded only when someone looks (the /tls page, a `tls` event subscriber).
// Measured on a throw-away server: this costs ~5-10% of full handshakes/s (the JS stream path),
// where eager parsing and decryption cost 13-28%.
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { decodeHandshake, type CapturedChunk, type DecodedHandshake, type DecodeOptions, type Side } from './handshake-decoder.js';
import { RateWindow } from '../rate-window.js';

/** Per direction, bytes kept at most (a handshake with a certificate chain is 2-8 KB). */
const MAX_CAPTURE_BYTES = 32 * 1024;
/** Chunks still kept per direction once the handshake is done (TLS 1.3 tickets, first application data). */
const CHUNKS_AFTER_SECURE = 2;

/** No chunks: what a packed capture's `chunks` reads as. */
const NO_CHUNKS: CapturedChunk[] = [];

/**
 * One connection's handshake. While it runs, the chunks are referenced as they pass (no copy); once
 * the capture is done (enough after the handshake, over its cap, or the connection closed) they are
 * packed into one Buffer with a small index, and the key-log lines kept as text: the ring keeps 200
 * captures for a minute or so at a class's rate, long enough to reach old space, and a capture of
 * ~25 small objects and a dozen small ArrayBuffers (the socket's read buffers, one per key-log line)
 * died there and fragmented it (issue 14); packed, it is a handful.
 */
export class HandshakeCapture {
  private live: CapturedChunk[] = [];
  /** The key-log lines (latin1, as the decoder reads them), at most 16. */
  readonly keylog: string[] = [];
  readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private clientBytes = 0;
  private serverBytes = 0;
  private clientAfter = 0;
  private serverAfter = 0;
  /** Once packed: the chunks' octets in order, and per chunk its side (0 client, 1 server), time and length. */
  private packed: Buffer | undefined;
  private index: number[] | undefined;
  capturing = true;
  secureAt?: number;
  error?: string;
  alpn?: string;
  servername?: string;
  session?: string;
  private decoded?: DecodedHandshake;

  constructor(
    readonly id: number,
    readonly listener: string,
    readonly peer: { address: string; port: number },
    private readonly decodeOptions: DecodeOptions,
  ) {}

  record(from: Side, data: Buffer): void {
    if (!this.capturing) return;
    if (this.secureAt !== undefined && (from === 'client' ? ++this.clientAfter : ++this.serverAfter) > CHUNKS_AFTER_SECURE) {
      // Enough of the application data is kept to show that it follows, encrypted.
      this.stop();
      return;
    }
    const before = from === 'client' ? this.clientBytes : this.serverBytes;
    if (before + data.length > MAX_CAPTURE_BYTES) {
      this.stop();
      return;
    }
    if (from === 'client') this.clientBytes += data.length;
    else this.serverBytes += data.length;
    this.live.push({ from, t: performance.now() - this.t0, data });
  }

  /** A key-log line of this connection (at most 16 are kept). */
  addKeylog(line: Buffer): void {
    if (this.keylog.length < 16) this.keylog.push(line.toString('latin1'));
  }

  /** The capture is over (or the connection closed): its chunks are packed (see the class). */
  stop(): void {
    this.capturing = false;
    if (this.packed !== undefined) return;
    const chunks = this.live;
    let total = 0;
    for (const c of chunks) total += c.data.length;
    const packed = Buffer.allocUnsafeSlow(total);
    const index: number[] = [];
    let at = 0;
    for (const c of chunks) {
      c.data.copy(packed, at);
      at += c.data.length;
      index.push(c.from === 'client' ? 0 : 1, c.t, c.data.length);
    }
    this.packed = packed;
    this.index = index;
    this.live = NO_CHUNKS;
  }

  /** The captured chunks in order (views of the packed octets once the capture is done). */
  get chunks(): readonly CapturedChunk[] {
    const packed = this.packed;
    const index = this.index;
    if (packed === undefined || index === undefined) return this.live;
    const out: CapturedChunk[] = [];
    let at = 0;
    for (let i = 0; i < index.length; i += 3) {
      const len = index[i + 2];
      out.push({ from: index[i] === 0 ? 'client' : 'server', t: index[i + 1], data: packed.subarray(at, at + len) });
      at += len;
    }
    return out;
  }

  markSecure(): void {
    this.secureAt = performance.now() - this.t0;
  }

  get bytesCaptured(): number {
    return this.clientBytes + this.serverBytes;
  }

  /** Decodes lazily and returns the ladder (kept once the capture is complete). */
  decode(): DecodedHandshake {
    if (this.decoded) return this.decoded;
    const d = decodeHandshake(this.chunks, this.keylog, this.decodeOptions);
    if (!this.capturing) this.decoded = d;
    return d;
  }
}

/**
 * A stream-like view of the raw socket for the TLS engine. It is not a net.Socket, so TLSSocket reads
 * and writes through it in JavaScript (JSStreamSocket) instead of handing the file descriptor to
 * OpenSSL, and the tap sees every record. Methods go straight to the raw socket: no Duplex layer, no
 * extra buffering; while the capture runs, each chunk is referenced (not copied).
 */
function tapView(raw: net.Socket, capture: HandshakeCapture): NodeJS.ReadWriteStream {
  const view = {
    readable: true,
    writable: true,
    // node:tls takes the TLS socket's half-open behaviour from the stream it wraps: without this a
    // client that half-closes (close_notify and FIN after its request, as `openssl s_client` does at
    // the end of its input) got its connection torn down before the answer, unlike an untapped one.
    allowHalfOpen: raw.allowHalfOpen,
    readableObjectMode: false,
    on(event: string, fn: (...args: unknown[]) => void) {
      if (event === 'data') {
        raw.on('data', (d: Buffer) => {
          if (capture.capturing) capture.record('client', d);
          fn(d);
        });
      } else raw.on(event, fn);
      return view;
    },
    once(event: string, fn: (...args: unknown[]) => void) {
      raw.once(event, fn);
      return view;
    },
    removeListener(event: string, fn: (...args: unknown[]) => void) {
      raw.removeListener(event, fn);
      return view;
    },
    off(event: string, fn: (...args: unknown[]) => void) {
      raw.off(event, fn);
      return view;
    },
    pause() {
      raw.pause();
      return view;
    },
    resume() {
      raw.resume();
      return view;
    },
    cork() {
      raw.cork();
    },
    uncork() {
      raw.uncork();
    },
    write(chunk: Buffer, cb?: (err?: Error | null) => void) {
      if (capture.capturing) capture.record('server', chunk);
      return raw.write(chunk, cb);
    },
    end(cb?: () => void) {
      raw.end(cb);
      return view;
    },
    destroy(err?: Error) {
      raw.destroy(err);
      return view;
    },
    get destroyed() {
      return raw.destroyed;
    },
  };
  return view as unknown as NodeJS.ReadWriteStream;
}

/** The ring of recent handshakes: bounded, the oldest evicted (and its buffers freed) first. */
export class HandshakeLog {
  private readonly ring: Array<HandshakeCapture | undefined>;
  private next = 0;
  private counter = 0;
  private readonly bySocket = new WeakMap<tls.TLSSocket, HandshakeCapture>();

  /** At most `maxPerSecond` handshakes are tapped per second. */
  private readonly rate: RateWindow;
  /** Connections accepted without the tap because the rate budget was spent. */
  untapped = 0;

  /**
   * @param capacity handshakes kept (the oldest evicted first)
   * @param maxPerSecond at most this many handshakes are tapped per second (0: no limit). A classroom
   *   stays far below; a flood (a benchmark, a scan) gets plain node:tls for the rest of the second,
   *   so the tap's cost is bounded whatever the load.
   */
  constructor(
    readonly capacity: number,
    maxPerSecond = 0,
  ) {
    this.ring = new Array<HandshakeCapture | undefined>(Math.max(1, capacity));
    this.rate = new RateWindow(maxPerSecond, 1000);
  }

  get maxPerSecond(): number {
    return this.rate.max;
  }

  set maxPerSecond(n: number) {
    this.rate.max = n;
  }

  /** Whether the next connection may be tapped (the per-second budget). */
  admit(): boolean {
    if (this.rate.admit()) return true;
    this.untapped++;
    return false;
  }

  /**
   * Wraps an accepted socket in TLS with the tap in between. `onSecure` runs after the handshake
   * (for protocol events; it should decode only when someone listens).
   */
  wrap(raw: net.Socket, options: tls.TlsOptions, listener: string, decodeOptions: DecodeOptions, onSecure?: (c: HandshakeCapture) => void): tls.TLSSocket {
    const capture = new HandshakeCapture(++this.counter, listener, { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 }, decodeOptions);
    this.ring[this.next] = capture;
    this.next = (this.next + 1) % this.ring.length;
    const secure = new tls.TLSSocket(tapView(raw, capture) as never, { ...options, isServer: true });
    secure.on('keylog', (line: Buffer) => capture.addKeylog(line));
    // A capture still running when the connection ends (a short HTTPS exchange) is packed then.
    raw.once('close', () => capture.stop());
    secure.once('secure', () => {
      capture.markSecure();
      capture.alpn = secure.alpnProtocol || undefined;
      capture.servername = (secure as tls.TLSSocket & { servername?: string | false }).servername || undefined;
      onSecure?.(capture);
    });
    secure.once('error', (err: Error) => {
      if (capture.secureAt === undefined) capture.error = err.message;
    });
    this.bySocket.set(secure, capture);
    return secure;
  }

  /** The capture of the handshake that made this TLS socket, while it is still in the ring. */
  forSocket(socket: tls.TLSSocket | undefined): HandshakeCapture | undefined {
    if (!socket) return undefined;
    const c = this.bySocket.get(socket);
    return c && this.ring.includes(c) ? c : undefined;
  }

  get(id: number): HandshakeCapture | undefined {
    return this.ring.find((c) => c?.id === id);
  }

  /** Newest first. */
  recent(limit = this.capacity): HandshakeCapture[] {
    const out: HandshakeCapture[] = [];
    for (let i = 1; i <= this.ring.length && out.length < limit; i++) {
      const c = this.ring[(this.next - i + this.ring.length) % this.ring.length];
      if (c) out.push(c);
    }
    return out;
  }
}
