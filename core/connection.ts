// One accepted TCP connection: its current transport (plain, or TLS after an upgrade), its framer,
// byte counters, idle timer and close bookkeeping. Sessions are plain objects a service builds around
// it. The transport is the narrow interface of core/transport.ts (node:net's Socket, or the raw libuv
// one); only a STARTTLS upgrade needs a real net.Socket.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { type Endpoint, type EventBus, isLineEvent, type ProtocolEventType, type ThinnedCount } from './events.js';
import { LineFramer } from './line-framer.js';
import type { LiveLinks } from './live-list.js';
import type { Transport } from './transport.js';

export interface ConnectionHooks {
  /** Text written just before closing on idle timeout (e.g. "421 4.4.2 Idle timeout"). */
  idleReply?: (conn: Connection) => string | Buffer | undefined;
  /** Text written when the server shuts down and the session is idle or out of grace time. */
  shutdownReply?: (conn: Connection) => string | Buffer | undefined;
}

export interface TlsUpgradeOptions extends tls.TlsOptions {
  /** Handshake must finish within this many ms. Default 15 s. */
  handshakeTimeoutMs?: number;
  /** Wraps the plain socket instead of `new tls.TLSSocket` (TlsMaterial's handshake tap). */
  wrap?: (socket: net.Socket, options: tls.TlsOptions) => tls.TLSSocket;
  /** Called with the TLS socket as soon as it exists, before the handshake (the key-log hook). */
  onSocket?: (socket: tls.TLSSocket) => void;
}

function destroyOnFailure(conn: Connection, err: unknown): void {
  conn.destroy(`internal error: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * A STARTTLS/STLS handshake that did not complete: the client's doing (plain text instead of a
 * ClientHello, a close, no common cipher), not a fault in the session. The connection is already
 * closed, with the reason on its session-closed event; the server logs it at info, not as an error.
 */
export class TlsHandshakeError extends Error {
  override name = 'TlsHandshakeError';
}

/** A short reason for a failed handshake, in the course's words where OpenSSL's are cryptic. */
function handshakeFailure(err: Error & { reason?: string; code?: string }): string {
  if (err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || err.code === 'ERR_SSL_HTTP_REQUEST' || err.code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
    return `the client sent something other than a TLS record, such as plain text after STARTTLS (OpenSSL: ${err.reason ?? err.code})`;
  return err.reason ?? err.message;
}

export class Connection implements LiveLinks<Connection> {
  /** The transport now (a TLSSocket after `upgradeTls`). */
  socket: Transport;
  liveNext: Connection | undefined = undefined;
  livePrev: Connection | undefined = undefined;
  liveIn: object | undefined = undefined;
  readonly framer: LineFramer;
  bytesOut = 0;
  /** Set when the server is shutting down: sessions should finish the current command and end. */
  closing = false;
  closed = false;
  closeReason = 'closed';
  readonly openedAt: number;
  /** The session is waiting for its next command or request (safe to close at shutdown). */
  private idle = false;
  private idleTimeoutMs: number;
  private closeCallbacks: Array<(reason: string) => void> = [];
  private closeTimer: NodeJS.Timeout | undefined;
  tlsSocket: tls.TLSSocket | undefined;
  /**
   * The live lab records this session (decided once, as it opens: EventBus.recordSession). False past
   * the recording budget for new sessions: the services then build no event for it at all, without
   * asking the bus line by line, so a connection flood's unrecorded sessions cost next to nothing.
   */
  recorded = true;

  /**
   * Whether an event of `type` for this session is to be built: the lab records it and the bus wants it
   * now. `at`: the bus's time, when the caller has just read it (EventBus.wants).
   */
  wants(type: ProtocolEventType, at = 0): boolean {
    if (!this.recorded) return false;
    const events = this.events;
    // Past the line budget (a flood, a benchmark): a comparison and a count, small enough for V8 to keep
    // inlining the hot paths that ask. EventBus.wants, bigger, is asked about once per refill.
    if (at > 0 && at < events.linesShutUntil && isLineEvent(type)) {
      events.thinnedFast++;
      const t = this.thinned;
      if (t !== undefined && t.round === events.tellRound) t.n++;
      else this.thinned = events.thinnedBy(this.id, this.service);
      return false;
    }
    return events.wants(type, this.id, this.service, at);
  }

  /** This session's count of thinned lines until its next notice (see EventBus.thinnedBy). */
  private thinned: ThinnedCount | undefined;

  constructor(
    socket: Transport,
    readonly id: string,
    readonly service: string,
    readonly peer: Endpoint,
    local: Endpoint | (() => Endpoint),
    readonly events: EventBus,
    maxLineLength: number,
    idleTimeoutMs: number,
    readonly hooks: ConnectionHooks,
    now: number,
    highWaterMark?: number,
  ) {
    this.socket = socket;
    if (typeof local === 'function') this.localOf = local;
    else this.localEnd = local;
    this.openedAt = now;
    this.idleTimeoutMs = idleTimeoutMs;
    this.framer = new LineFramer({ maxLineLength, highWaterMark });
    this.framer.attach(socket);
    if (socket instanceof tls.TLSSocket) this.tlsSocket = socket;
    this.watch(socket);
  }

  private localEnd: Endpoint | undefined;
  private localOf: (() => Endpoint) | undefined;

  /** Our end of the connection (found lazily: a getsockname() per connection costs on the hot path). */
  get local(): Endpoint {
    this.localEnd ??= this.localOf!();
    return this.localEnd;
  }

  get bytesIn(): number {
    return this.framer.bytesIn;
  }

  get isTls(): boolean {
    return this.tlsSocket !== undefined;
  }

  get isIdle(): boolean {
    return this.idle;
  }

  private watch(socket: Transport): void {
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs);
    socket.on('timeout', this.handleTimeout);
    socket.on('error', this.handleError);
    socket.on('close', this.handleClose);
  }

  private unwatch(socket: Transport): void {
    socket.setTimeout(0);
    socket.off('timeout', this.handleTimeout);
    socket.off('error', this.handleError);
    socket.off('close', this.handleClose);
  }

  private readonly handleTimeout = (): void => {
    const text = this.hooks.idleReply?.(this);
    if (text !== undefined) this.write(text);
    this.close('idle timeout');
  };

  private readonly handleError = (err: Error): void => {
    this.destroy(`socket error: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  };

  private readonly handleClose = (): void => {
    this.markClosed(this.closeReason === 'closed' ? 'peer closed' : this.closeReason);
  };

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.framer.end();
    for (const cb of this.closeCallbacks) cb(reason);
    this.closeCallbacks = [];
  }

  /** Where `fail` reports to (the owning TcpServer sets it: log, notice, error reply, close). */
  onFailure: (conn: Connection, err: unknown) => void = destroyOnFailure;

  /** Reports that the session on this connection failed (for handlers that return no promise). */
  fail(err: unknown): void {
    this.onFailure(this, err);
  }

  onClose(cb: (reason: string) => void): void {
    if (this.closed) cb(this.closeReason);
    else this.closeCallbacks.push(cb);
  }

  /** Idle timeout in ms (0 disables). Takes effect at once. */
  setIdleTimeout(ms: number): void {
    this.idleTimeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  write(data: string | Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.bytesOut += n;
    return this.socket.write(data);
  }

  /** Resolves when the socket's write buffer has drained (or the socket closed). */
  drain(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Reads the next command line, marking the session idle while it waits (see `closing`). */
  async readCommandLine(max?: number): Promise<Buffer | null> {
    if (this.closing && this.framer.buffered === 0) {
      this.shutdownNow();
      return null;
    }
    this.idle = true;
    try {
      return await this.framer.readLine(max);
    } finally {
      this.idle = false;
    }
  }

  /** Reads the next HTTP-style head, marking the session idle while it waits. */
  async readHead(max: number): Promise<Buffer | null> {
    if (this.closing && this.framer.buffered === 0) {
      this.shutdownNow();
      return null;
    }
    this.idle = true;
    try {
      return await this.framer.readHead(max);
    } finally {
      this.idle = false;
    }
  }

  /**
   * Marks the session idle (waiting for its next command) or busy, for sessions that wait through
   * `framer.onReadable` instead of `readCommandLine`/`readHead`. An idle session closes at once at
   * shutdown.
   */
  markIdle(idle: boolean): void {
    this.idle = idle;
  }

  /**
   * Half-closes after flushing what was written; the peer's FIN then completes the close. With
   * `immediate` (the caller knows the peer has sent nothing unread, as nginx checks before skipping
   * its lingering close) a socket that can closes as soon as the data is out, without waiting.
   */
  close(reason = 'closed', immediate = false): void {
    if (this.closed) return;
    this.closeReason = reason;
    const s = this.socket;
    if (immediate && s.endNow !== undefined) s.endNow();
    else s.end();
    // A peer that never closes its side must not keep the socket: destroy after a short grace (the
    // raw transport keeps that deadline itself, without a timer per connection).
    if (this.closeTimer === undefined && s.selfClosing !== true) {
      this.closeTimer = setTimeout(() => this.destroy(reason), 2_000);
      this.closeTimer.unref();
    }
  }

  destroy(reason = 'destroyed'): void {
    if (this.closeReason === 'closed') this.closeReason = reason;
    this.socket.destroy();
    this.markClosed(this.closeReason);
  }

  /** Called by the server at shutdown: an idle session is closed at once, a busy one at `closing`. */
  beginShutdown(): void {
    this.closing = true;
    if (this.idle && this.framer.buffered === 0) this.shutdownNow();
  }

  shutdownNow(): void {
    if (this.closed) return;
    const text = this.hooks.shutdownReply?.(this);
    if (text !== undefined) this.write(text);
    this.close('server shutdown');
  }

  /**
   * STARTTLS (RFC 3207, RFC 2595): turns this plain connection into TLS in place. Whatever the
   * client pipelined after the STARTTLS command and before the handshake is discarded and its size
   * returned, so it can never be executed as if it had come over TLS (CVE-2011-0411).
   */
  async upgradeTls(options: TlsUpgradeOptions): Promise<{ discarded: number }> {
    if (this.tlsSocket) throw new Error('connection is already TLS');
    const plain = this.socket;
    // node:tls wraps a stream; the raw transport is for listeners that never upgrade in place.
    if (!(plain instanceof net.Socket)) throw new Error('this connection cannot upgrade to TLS: its transport is not a net.Socket');
    const dropped = this.framer.detach();
    this.unwatch(plain);
    const { handshakeTimeoutMs = 15_000, wrap, onSocket, ...tlsOptions } = options;
    const secure = wrap ? wrap(plain, tlsOptions) : new tls.TLSSocket(plain, { ...tlsOptions, isServer: true });
    onSocket?.(secure);
    this.socket = secure;
    this.tlsSocket = secure;
    this.watch(secure);
    this.framer.attach(secure);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no handshake within ${handshakeTimeoutMs} ms`)), handshakeTimeoutMs);
      const ok = (): void => {
        cleanup();
        resolve();
      };
      const fail = (err: Error): void => {
        cleanup();
        const failure = new TlsHandshakeError(handshakeFailure(err));
        this.destroy(`TLS handshake failed: ${failure.message}`);
        reject(failure);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        secure.off('secure', ok);
        secure.off('error', fail);
        secure.off('close', onClose);
      };
      const onClose = (): void => fail(new Error('the client closed the connection during the handshake'));
      secure.once('secure', ok);
      secure.once('error', fail);
      secure.once('close', onClose);
    });
    return { discarded: dropped.length };
  }
}
