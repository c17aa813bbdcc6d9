/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   Node's tcp_wrap/stream_wrap bindings are internal and untyped; load() checks every member used. */
// A lean TCP transport straight on libuv's TCP handle: one implementation of core/transport.ts (the
// other is node:net), chosen for the plain HTTP listener by `services.http.transport: raw`.
//
// Why: with `Connection: close` every request is a new connection, and creating and tearing down a
// `net.Socket` (a full Duplex stream: dozens of fields, listeners, stream state, a timer per socket)
// costs more than the whole HTTP exchange. Measured here with wrk against a server that answers every
// read with one prebuilt response: on `net` it reached 0.49 of nginx's rate, on the bare handle 0.86.
//
// What it is: the handle API that `net.Socket` itself is built on (Node's tcp_wrap and stream_wrap
// bindings, reached through `process.binding`, which Node keeps for exactly these modules), wrapped in
// a small event store with the `Transport` surface that `Connection`, `LineFramer` and the HTTP engine
// use: 'data', 'end', 'close', 'error', 'drain', 'timeout'; write (with cork/uncork, backpressure
// through writableNeedDrain), end, destroy, pause/resume, setNoDelay, setTimeout.
// Services that upgrade to TLS in place (STARTTLS) keep `net.Socket`: node:tls wants a real stream.
// `rawTcpAvailable()` is false if a future Node drops these bindings; the listener then uses `net`
// (and says so); the HTTP suites run on both.
import { getSystemErrorName } from 'node:util';
import type { Transport } from './transport.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface TcpHandle {
  onread: (this: TcpHandle, ab: ArrayBuffer | undefined) => void;
  onconnection: ((err: number, client: TcpHandle | undefined) => void) | null;
  readStart(): number;
  useUserBuffer?(buffer: Buffer): void;
  readStop(): number;
  writeBuffer(req: any, data: Buffer): number;
  writev(req: any, chunks: Buffer[], allBuffers: boolean): number;
  shutdown(req: any): number;
  close(cb?: () => void): void;
  setNoDelay(on: boolean): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  [owner: symbol]: unknown;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  SERVER: number;
  WriteWrap: new () => any;
  ShutdownWrap: new () => any;
  state: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
  /**
   * One buffer every socket reads into (libuv reads one socket at a time on the loop thread); each
   * read is copied out at once into a chunk of its own. Without it Node allocates 64 KiB with malloc
   * for every read and copies the octets into a fresh ArrayBuffer. Undefined if the binding lacks it.
   */
  readInto: Buffer | undefined;
}

const UV_EOF = -4095;

let bindings: Bindings | null | undefined;

function load(): Bindings | null {
  if (bindings !== undefined) return bindings;
  try {
    const binding = (process as unknown as { binding(this: void, name: string): any }).binding;
    const tcp = binding('tcp_wrap');
    const stream = binding('stream_wrap');
    const ok =
      typeof tcp.TCP === 'function' &&
      typeof stream.WriteWrap === 'function' &&
      typeof stream.ShutdownWrap === 'function' &&
      stream.streamBaseState instanceof Int32Array &&
      [stream.kReadBytesOrError, stream.kArrayBufferOffset, stream.kBytesWritten, stream.kLastWriteWasAsync].every((k) => typeof k === 'number');
    bindings = ok
      ? {
          TCP: tcp.TCP,
          SERVER: tcp.constants.SERVER,
          WriteWrap: stream.WriteWrap,
          ShutdownWrap: stream.ShutdownWrap,
          state: stream.streamBaseState,
          kReadBytesOrError: stream.kReadBytesOrError,
          kArrayBufferOffset: stream.kArrayBufferOffset,
          kBytesWritten: stream.kBytesWritten,
          kLastWriteWasAsync: stream.kLastWriteWasAsync,
          readInto: typeof tcp.TCP.prototype.useUserBuffer === 'function' ? Buffer.allocUnsafeSlow(64 * 1024) : undefined,
        }
      : null;
  } catch {
    bindings = null;
  }
  return bindings;
}

/** True when this Node offers the handle bindings the raw transport needs. */
export function rawTcpAvailable(): boolean {
  return load() !== null;
}

function uvError(code: number, syscall: string, extra?: Record<string, unknown>): NodeJS.ErrnoException {
  let name: string;
  try {
    name = getSystemErrorName(code);
  } catch {
    name = `E${-code}`;
  }
  const err = new Error(`${syscall} ${name}`) as NodeJS.ErrnoException;
  err.code = name;
  err.errno = code;
  err.syscall = syscall;
  if (extra) Object.assign(err, extra);
  return err;
}

// ---- idle timeouts: one sweep for every raw socket instead of a timer each ----

const timed = new Set<RawTcpSocket>();
let sweep: NodeJS.Timeout | undefined;
const SWEEP_MS = 1_000;
/** How long a socket that has sent everything and its FIN waits for the peer's FIN. */
const END_GRACE_MS = 2_000;
/** How long an ending socket may take to hand its last queued octets to a slow reader. */
const FLUSH_GRACE_MS = 30_000;
/** How long a socket whose peer has half-closed waits for its owner to end it. */
const HALF_OPEN_GRACE_MS = 60_000;

function watchTimeout(s: RawTcpSocket): void {
  timed.add(s);
  if (sweep === undefined) {
    sweep = setInterval(() => {
      const now = Date.now();
      for (const t of timed) t.checkTimeout(now);
      if (timed.size === 0 && sweep !== undefined) {
        clearInterval(sweep);
        sweep = undefined;
      }
    }, SWEEP_MS);
    sweep.unref();
  }
}

function onWriteComplete(this: any, status: number): void {
  const sock = this.socket as RawTcpSocket;
  // The request object outlives the write (see destroy): keep nothing reachable from it.
  this.socket = undefined;
  this.buffer = undefined;
  sock.writeDone(this.bytes as number, status);
}

function onShutdownComplete(this: any): void {
  const sock = this.socket as RawTcpSocket;
  this.socket = undefined;
  sock.shutdownDone();
}

type Listener = (...args: any[]) => void;
type RawEvent = 'data' | 'end' | 'close' | 'error' | 'drain' | 'timeout';

/**
 * The few events a raw socket emits, each with its own listener list: cheaper per connection than
 * node:events (whose listener store is a dictionary-mode object set up per instance), and enough
 * for the callers here (on, once, off, emit). Listeners run in registration order, as with
 * EventEmitter; an 'error' with no listener is dropped rather than thrown (the socket closes anyway).
 */
export class RawEvents {
  private dataListeners: Listener[] | undefined = undefined;
  private endListeners: Listener[] | undefined = undefined;
  private closeListeners: Listener[] | undefined = undefined;
  private errorListeners: Listener[] | undefined = undefined;
  private drainListeners: Listener[] | undefined = undefined;
  private timeoutListeners: Listener[] | undefined = undefined;

  private list(event: string, create: boolean): Listener[] | undefined {
    switch (event as RawEvent) {
      case 'data':
        return this.dataListeners ?? (create ? (this.dataListeners = []) : undefined);
      case 'end':
        return this.endListeners ?? (create ? (this.endListeners = []) : undefined);
      case 'close':
        return this.closeListeners ?? (create ? (this.closeListeners = []) : undefined);
      case 'error':
        return this.errorListeners ?? (create ? (this.errorListeners = []) : undefined);
      case 'drain':
        return this.drainListeners ?? (create ? (this.drainListeners = []) : undefined);
      case 'timeout':
        return this.timeoutListeners ?? (create ? (this.timeoutListeners = []) : undefined);
      default:
        return undefined;
    }
  }

  on(event: string, fn: Listener): this {
    this.list(event, true)?.push(fn);
    return this;
  }

  addListener(event: string, fn: Listener): this {
    return this.on(event, fn);
  }

  once(event: string, fn: Listener): this {
    const wrapper: Listener & { listener?: Listener } = (...args: unknown[]) => {
      this.off(event, wrapper);
      fn(...args);
    };
    wrapper.listener = fn;
    return this.on(event, wrapper);
  }

  off(event: string, fn: Listener): this {
    const l = this.list(event, false);
    if (l !== undefined) {
      for (let i = l.length - 1; i >= 0; i--) {
        const f = l[i] as Listener & { listener?: Listener };
        if (f === fn || f.listener === fn) {
          l.splice(i, 1);
          break;
        }
      }
    }
    return this;
  }

  removeListener(event: string, fn: Listener): this {
    return this.off(event, fn);
  }

  listenerCount(event: string): number {
    return this.list(event, false)?.length ?? 0;
  }

  /** Drops every listener (after the last event). */
  protected releaseListeners(): void {
    this.dataListeners = undefined;
    this.endListeners = undefined;
    this.closeListeners = undefined;
    this.errorListeners = undefined;
    this.drainListeners = undefined;
    this.timeoutListeners = undefined;
  }

  emit(event: string, arg?: unknown): boolean {
    const l = this.list(event, false);
    if (l === undefined || l.length === 0) return false;
    if (l.length === 1) l[0](arg);
    else for (const f of l.slice()) f(arg);
    return true;
  }
}

/** A write request object not in use (see RawTcpSocket.dispatch). */
let spareWriteReq: any;

/** getpeername's output object, reused (the binding sets address, family and port on it). */
const peerOut: Record<string, unknown> = {};

/** One accepted connection on a bare libuv TCP handle (see the file comment). */
export class RawTcpSocket extends RawEvents implements Transport {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  destroyed = false;
  /** Octets handed to the kernel or queued in libuv. */
  bytesWritten = 0;
  /** Octets written but not yet taken by the kernel (libuv's queue). */
  writableLength = 0;
  writableNeedDrain = false;
  readonly writableHighWaterMark = 16 * 1024;
  private readonly b: Bindings;
  private local: { address: string; port: number } | undefined;
  private corked = 0;
  private corkedChunks: Buffer[] = [];
  private ending = false;
  private shutDown = false;
  private readEnded = false;
  private reading = false;
  private paused = false;
  private timeoutMs = 0;
  private lastActive = 0;
  /** After end(): when to give up waiting for the peer's FIN (0: not ending). */
  private graceUntil = 0;
  /** `Connection.close` needs no timer of its own: end() destroys after END_GRACE_MS by itself. */
  readonly selfClosing = true;

  constructor(
    private readonly handle: TcpHandle,
    b: Bindings,
    /** TCP_NODELAY came with the socket (Linux copies it from the listening socket on accept). */
    private noDelay = false,
  ) {
    super();
    this.b = b;
    if (handle.getpeername(peerOut) === 0) {
      this.remoteAddress = peerOut.address as string;
      this.remotePort = peerOut.port as number;
      this.remoteFamily = peerOut.family as string;
    }
    handle.onread = onRead;
    (handle as any).socket = this;
    if (b.readInto !== undefined) handle.useUserBuffer!(b.readInto);
  }

  get localAddress(): string | undefined {
    return this.localEnd()?.address;
  }

  get localPort(): number | undefined {
    return this.localEnd()?.port;
  }

  private localEnd(): { address: string; port: number } | undefined {
    if (this.local === undefined && !this.destroyed) {
      const out: Record<string, unknown> = {};
      if (this.handle.getsockname(out) === 0) this.local = { address: out.address as string, port: out.port as number };
    }
    return this.local;
  }

  /** Starts reading (called once the owner has attached its listeners). */
  start(): void {
    if (this.destroyed || this.reading || this.paused || this.readEnded) return;
    this.reading = true;
    const err = this.handle.readStart();
    if (err !== 0) this.fail(uvError(err, 'read'));
  }

  pause(): this {
    this.paused = true;
    if (this.reading && !this.destroyed) {
      this.reading = false;
      this.handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.paused = false;
    this.start();
    return this;
  }

  setNoDelay(on = true): this {
    if (on !== this.noDelay && !this.destroyed) {
      this.handle.setNoDelay(on);
      this.noDelay = on;
    }
    return this;
  }

  /** Emits 'timeout' after `ms` without reads or writes (checked once a second); 0 turns it off. */
  setTimeout(ms: number): this {
    this.timeoutMs = ms;
    this.lastActive = Date.now();
    if (ms > 0 && !this.destroyed) watchTimeout(this);
    else if (this.graceUntil === 0) timed.delete(this);
    return this;
  }

  /** @internal the shared sweep */
  checkTimeout(now: number): void {
    if (this.graceUntil > 0 && now >= this.graceUntil) {
      this.destroy();
      return;
    }
    if (this.timeoutMs > 0 && now - this.lastActive >= this.timeoutMs) {
      this.lastActive = now;
      this.emit('timeout');
    }
  }

  /** @internal called by libuv through onRead */
  received(n: number, ab: ArrayBuffer | undefined): void {
    if (n > 0) {
      if (this.timeoutMs > 0) this.lastActive = Date.now();
      const b = this.b;
      let chunk: Buffer;
      if (b.readInto !== undefined) {
        // The shared read buffer is overwritten by the next read of any socket: copy out (small
        // chunks come from Node's buffer pool, so no allocation of their own).
        chunk = Buffer.allocUnsafe(n);
        b.readInto.copy(chunk, 0, 0, n);
      } else chunk = Buffer.from(ab!, b.state[b.kArrayBufferOffset], n);
      this.emit('data', chunk);
      return;
    }
    if (n === 0) return;
    if (n === UV_EOF) {
      this.readEnded = true;
      this.reading = false;
      this.handle.readStop();
      this.emit('end');
      // The peer has finished sending; it may still be waiting for our answer (a half-close, as
      // `printf 'GET / ...' | nc -N` does), so the owner finishes and ends the socket. If we had
      // already ended our side, the connection is complete. An owner that never ends it still
      // loses the socket after a grace period.
      if (this.shutDown) this.destroy();
      else if (this.graceUntil === 0) this.armGrace(HALF_OPEN_GRACE_MS);
      return;
    }
    this.fail(uvError(n, 'read'));
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked === 0) return;
    if (--this.corked === 0) this.flushCorked();
  }

  /** Sends what cork() held back, as one write (writev for several pieces). */
  private flushCorked(): void {
    if (this.corkedChunks.length === 0) return;
    const chunks = this.corkedChunks;
    this.corkedChunks = [];
    this.dispatch(chunks.length === 1 ? chunks[0] : chunks);
  }

  write(data: Buffer | string, cb?: () => void): boolean {
    if (this.destroyed || this.ending) return false;
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (buf.length === 0) return !this.writableNeedDrain;
    if (this.corked > 0) this.corkedChunks.push(buf);
    else this.dispatch(buf);
    if (cb) cb();
    return !this.writableNeedDrain;
  }

  private dispatch(data: Buffer | Buffer[]): void {
    const b = this.b;
    // A write the kernel takes at once never involves the request object on the C++ side, so one
    // spare object serves every such write; a write that stays queued keeps its object.
    const req = spareWriteReq ?? new b.WriteWrap();
    spareWriteReq = undefined;
    const err = Array.isArray(data) ? this.handle.writev(req, data, true) : this.handle.writeBuffer(req, data);
    if (err !== 0) {
      this.fail(uvError(err, 'write'));
      return;
    }
    const written = b.state[b.kBytesWritten];
    this.bytesWritten += written;
    if (this.timeoutMs > 0) this.lastActive = Date.now();
    if (b.state[b.kLastWriteWasAsync] !== 0) {
      // libuv keeps the rest queued until the kernel takes it; hold the data alive until then. The
      // completion comes from a later turn of the loop, so setting the callback now is in time.
      req.handle = this.handle;
      req.oncomplete = onWriteComplete;
      req.socket = this;
      req.bytes = written;
      req.buffer = data;
      this.writableLength += written;
      if (this.writableLength >= this.writableHighWaterMark) this.writableNeedDrain = true;
    } else spareWriteReq = req;
  }

  /** @internal an asynchronous write finished */
  writeDone(bytes: number, status: number): void {
    this.writableLength -= bytes;
    if (status < 0) {
      this.fail(uvError(status, 'write'));
      return;
    }
    if (this.writableLength === 0) {
      if (this.writableNeedDrain) {
        this.writableNeedDrain = false;
        this.emit('drain');
      }
      if (this.ending && !this.shutDown) this.doShutdown();
    }
  }

  /** Sends what is queued, then FIN; the socket closes when the peer has closed its side too. */
  end(data?: Buffer | string): this {
    if (this.destroyed) return this;
    if (data !== undefined) this.write(data);
    if (this.ending) return this;
    this.corked = 0;
    this.flushCorked();
    this.ending = true;
    if (this.destroyed) return this;
    if (this.writableLength === 0) this.doShutdown();
    // Still flushing: a peer that stops reading must not keep the socket forever.
    else this.armGrace(FLUSH_GRACE_MS);
    return this;
  }

  /**
   * Sends what is queued and closes at once, without waiting for the peer's FIN: for a peer that has
   * sent nothing we have not read (closing with unread input would make the kernel send a reset).
   */
  endNow(): this {
    if (this.destroyed) return this;
    this.closeWhenFlushed = true;
    return this.end();
  }

  private closeWhenFlushed = false;

  private armGrace(ms: number): void {
    if (this.destroyed) return;
    this.graceUntil = Date.now() + ms;
    watchTimeout(this);
  }

  private doShutdown(): void {
    if (this.closeWhenFlushed) {
      this.destroy();
      return;
    }
    // Everything is sent: a peer that never closes its side must not keep the socket.
    this.armGrace(END_GRACE_MS);
    this.shutDown = true;
    if (this.readEnded) {
      this.destroy();
      return;
    }
    const req = new this.b.ShutdownWrap();
    req.oncomplete = onShutdownComplete;
    req.handle = this.handle;
    req.socket = this;
    const err = this.handle.shutdown(req);
    if (err === 1) this.shutdownDone();
    else if (err !== 0) this.destroy();
  }

  /** @internal */
  shutdownDone(): void {
    if (this.readEnded) this.destroy();
    // Otherwise keep reading until the peer's FIN (or the owner's grace timer destroys us).
    else this.start();
  }

  /** @internal after destroy: the last events, then every listener is let go. */
  closed(err: Error | undefined): void {
    if (err) this.emit('error', err);
    this.emit('close', err !== undefined);
    this.releaseListeners();
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    timed.delete(this);
    this.reading = false;
    // (onread must stay a function: the binding asserts on anything else)
    this.handle.onread = ignoreRead;
    // libuv closes the descriptor on its next turn; nothing here needs it, so 'close' is emitted on
    // the next tick instead of through a close callback (one crossing from C++ into JavaScript less
    // per connection).
    this.handle.close();
    // The handle's JS object is only collected by a full GC (Node holds it weakly, and young-generation
    // GCs treat weak handles as strong), so nothing may stay reachable from it: a reference would drag
    // the whole session (connection, framer, HTTP state) into the old generation.
    (this.handle as any).socket = undefined;
    process.nextTick(emitClose, this, err);
    return this;
  }

  private fail(err: NodeJS.ErrnoException): void {
    // Resets and broken pipes are how peers leave; they close the socket like an error would.
    this.destroy(err);
  }
}

function ignoreRead(): void {}

function emitClose(sock: RawTcpSocket, err: Error | undefined): void {
  sock.closed(err);
}

function onRead(this: TcpHandle, ab: ArrayBuffer | undefined): void {
  const sock = (this as any).socket as RawTcpSocket | undefined;
  if (sock === undefined || sock.destroyed) return;
  const b = bindings!;
  sock.received(b.state[b.kReadBytesOrError], ab);
}

/** A listening socket on a bare handle; `onConnection` gets each accepted RawTcpSocket. */
export class RawTcpListener {
  private readonly handle: TcpHandle;
  private readonly b: Bindings;
  address = '';
  port = 0;
  /** Accepted sockets start with TCP_NODELAY set (saves a setsockopt per connection). */
  private inheritsNoDelay = false;

  constructor(onConnection: (socket: RawTcpSocket) => void, onError: (err: NodeJS.ErrnoException) => void) {
    const b = load();
    if (b === null) throw new Error('raw TCP handles are not available in this Node');
    this.b = b;
    this.handle = new b.TCP(b.SERVER);
    this.handle.onconnection = (status, client) => {
      if (status !== 0 || client === undefined) {
        onError(uvError(status, 'accept'));
        return;
      }
      onConnection(new RawTcpSocket(client, b, this.inheritsNoDelay));
    };
  }

  /** Binds and listens; throws an ErrnoException (code EADDRINUSE, EACCES...) like net.Server's error. */
  listen(address: string, port: number, backlog: number): void {
    const v6 = address.includes(':');
    let err = v6 ? this.handle.bind6(address, port, 0) : this.handle.bind(address, port);
    if (err === 0) err = this.handle.listen(backlog);
    if (err !== 0) {
      this.handle.close();
      throw uvError(err, 'listen', { address, port });
    }
    // Linux copies TCP_NODELAY from the listening socket to each accepted one.
    this.inheritsNoDelay = process.platform === 'linux' && this.handle.setNoDelay(true) === 0;
    const out: Record<string, unknown> = {};
    this.handle.getsockname(out);
    this.address = out.address as string;
    this.port = out.port as number;
  }

  close(cb: () => void): void {
    this.handle.close(cb);
  }
}
