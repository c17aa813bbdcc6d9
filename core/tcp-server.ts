// A TCP listener shared by every TCP service: connection caps (total and per remote address),
// per-connection idle timeout and byte counters, session events, isolation of handler errors, and
// graceful shutdown (stop accepting, let busy sessions finish for a grace period, then close).
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from 'pino';
import { Connection, TlsHandshakeError, type ConnectionHooks } from './connection.js';
import { ConnectionBudget, type CapReason } from './connection-budget.js';
import type { EventBus } from './events.js';
import { ListenError } from './errors.js';
import { LiveList } from './live-list.js';
import { RawTcpListener, rawTcpAvailable, type RawTcpSocket } from './raw-tcp.js';
import type { Transport, TransportKind } from './transport.js';

export interface TcpServerOptions extends ConnectionHooks {
  /** Service name (events, logs, error messages). */
  service: string;
  /** Listener label within the service ('smtp', 'submission', 'smtps'...). Defaults to service. */
  label?: string;
  address: string;
  port: number;
  /**
   * Runs one session; when its promise resolves the connection is closed. A handler may instead
   * return nothing and close the connection itself (the HTTP engine, to spare a promise per
   * connection); it then reports a failure through `conn.fail(err)`.
   */
  handler: (conn: Connection) => Promise<void> | void;
  /** Caps of this listener alone. */
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /**
   * The process-wide caps shared with every other listener (core/connection-budget.ts); NetHost gives
   * every server the same one. A socket counts from accept, TLS handshake included, until it closes.
   */
  budget?: ConnectionBudget;
  idleTimeoutMs: number;
  maxLineLength: number;
  /** Framer buffer before the socket is paused. */
  highWaterMark?: number;
  /** Written to a client refused because a cap is reached, before closing. */
  busyReply?: (reason: CapReason) => string | Buffer | undefined;
  /** Written when the handler throws, before closing (a protocol's "internal error" reply). */
  errorReply?: (conn: Connection, err: unknown) => string | Buffer | undefined;
  /**
   * Implicit TLS (HTTPS, SMTPS, IMAPS, POP3S): each accepted socket is wrapped before the session
   * starts. `wrap` may replace the default wrapping (the TLS handshake tap does).
   */
  tls?: {
    options: () => tls.TlsOptions;
    wrap?: (socket: net.Socket, options: tls.TlsOptions) => tls.TLSSocket;
    handshakeTimeoutMs?: number;
  };
  /**
   * What accepted connections run on (core/transport.ts). 'raw' (bare libuv handles, core/raw-tcp.ts)
   * is for plain listeners whose sessions never upgrade to TLS in place (HTTP); it falls back to 'net'
   * where this Node lacks the binding, and TLS listeners always use 'net'. Default 'net'.
   */
  transport?: TransportKind;
  /**
   * A peer may half-close (send FIN) after its request and still read the answer (HTTP: `printf ... |
   * nc -N`); the session ends the connection itself. The raw transport always behaves so. Default false:
   * node:net ends our side as soon as the peer's FIN arrives.
   */
  allowHalfOpen?: boolean;
}

/** The transport a listener with these options really runs on. */
function effectiveTransport(options: Pick<TcpServerOptions, 'transport' | 'tls'>): TransportKind {
  return options.transport === 'raw' && options.tls === undefined && rawTcpAvailable() ? 'raw' : 'net';
}

function ignoreError(): void {}

export interface TcpServerStats {
  open: number;
  accepted: number;
  refused: number;
  bytesIn: number;
  bytesOut: number;
}

export class TcpServer {
  private readonly server: net.Server | undefined;
  private readonly raw: RawTcpListener | undefined;
  /** Open connections (a linked list, not a Set: see core/live-list.ts). */
  private readonly open = new LiveList<Connection>();
  private readonly perAddress = new Map<string, number>();
  /** The shared process budget, or one of this listener's own (then only its notice gate is used). */
  private readonly budget: ConnectionBudget;
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private accepted = 0;
  private refused = 0;
  /** Sockets accepted on an implicit-TLS listener whose handshake is still running (they count). */
  private handshaking = 0;
  private boundPort = 0;
  private boundAddress = '';
  /** What accepted connections run on. */
  readonly transport: TransportKind;

  constructor(
    readonly options: TcpServerOptions,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.transport = effectiveTransport(options);
    this.budget = options.budget ?? new ConnectionBudget(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, now);
    if (this.transport === 'raw') {
      this.raw = new RawTcpListener(
        (s) => this.acceptRaw(s),
        (err) => this.logger.warn({ err, service: options.service }, 'accept failed'),
      );
    } else {
      this.server = net.createServer({ noDelay: true, pauseOnConnect: false, allowHalfOpen: options.allowHalfOpen === true }, (s) => this.acceptNet(s));
      // A failed listen() is the ListenError listen() rejects with (start-up reports it); later errors are logged.
      this.server.on('error', (err) => {
        if (this.server?.listening) this.logger.error({ err, service: options.service }, 'listener error');
      });
    }
  }

  get label(): string {
    return this.options.label ?? this.options.service;
  }

  get address(): string {
    return this.boundAddress;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The open connections now. */
  get connections(): Connection[] {
    return this.open.toArray();
  }

  stats(): TcpServerStats {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    this.open.forEach((c) => {
      bytesIn += c.bytesIn;
      bytesOut += c.bytesOut;
    });
    return { open: this.open.size, accepted: this.accepted, refused: this.refused, bytesIn, bytesOut };
  }

  listen(): Promise<void> {
    const { address, port, service } = this.options;
    if (this.raw) {
      try {
        this.raw.listen(address, port, 1024);
      } catch (err) {
        return Promise.reject(new ListenError(service, this.label, address, port, err as NodeJS.ErrnoException));
      }
      this.boundPort = this.raw.port;
      this.boundAddress = this.raw.address;
      return Promise.resolve();
    }
    const server = this.server!;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('listening', onListening);
        reject(new ListenError(service, this.label, address, port, err));
      };
      const onListening = (): void => {
        server.off('error', onError);
        const a = server.address() as net.AddressInfo;
        this.boundPort = a.port;
        this.boundAddress = a.address;
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ host: address, port, backlog: 1024, exclusive: true });
    });
  }

  /** Counts a new connection against the caps; undefined when it was refused (and is being closed). */
  private admit(socket: Transport): string | undefined {
    const o = this.options;
    const remote = socket.remoteAddress ?? 'unknown';
    socket.on('error', ignoreError); // errors before the connection object exists must not crash
    const count = this.perAddress.get(remote) ?? 0;
    const mine: CapReason | undefined =
      this.open.size + this.handshaking >= o.maxConnections ? 'total' : count >= o.maxConnectionsPerAddress ? 'per-address' : undefined;
    const over = mine ?? this.budget.take(remote);
    if (over) {
      this.refused++;
      // Implicit TLS: nothing can be said before a handshake, and a refused client gets none.
      const text = o.tls ? undefined : o.busyReply?.(over);
      if (text !== undefined) socket.end(text);
      else socket.end();
      setTimeout(() => socket.destroy(), 1_000).unref();
      const notice = this.budget.refusal(remote, over);
      // The notice is logged at warn by the event logger (core/logger.ts), like every notice.
      if (notice) {
        const scope = mine ? `${this.label} alone` : 'all listeners';
        const more = notice.refused > 1 ? ` (${notice.refused} refused since the last notice)` : '';
        this.events.publish({
          type: 'notice',
          service: o.service,
          level: 'warn',
          message: `connection from ${remote} to ${this.label} refused: ${over} connection cap reached (${scope})${more}`,
        });
      }
      return undefined;
    }
    this.perAddress.set(remote, count + 1);
    this.accepted++;
    return remote;
  }

  private acceptRaw(socket: RawTcpSocket): void {
    const remote = this.admit(socket);
    if (remote === undefined) return;
    this.run(socket, socket, remote);
    // A raw socket reads only once the session's listeners are in place.
    socket.start();
  }

  private acceptNet(socket: net.Socket): void {
    const remote = this.admit(socket);
    if (remote === undefined) return;
    const o = this.options;
    if (o.tls) {
      const tlsOptions = o.tls.options();
      const wrapped = o.tls.wrap ? o.tls.wrap(socket, tlsOptions) : new tls.TLSSocket(socket, { ...tlsOptions, isServer: true });
      wrapped.on('error', () => {});
      const timer = setTimeout(() => wrapped.destroy(), o.tls.handshakeTimeoutMs ?? 15_000);
      let started = false;
      this.handshaking++;
      wrapped.once('secure', () => {
        clearTimeout(timer);
        started = true;
        this.handshaking--;
        this.run(wrapped, socket, remote);
      });
      // A peer that ends its side before the handshake finished can be told nothing: with a half-open
      // listener node would keep the socket (and its slot in the connection budget) until the timeout.
      const endedEarly = (): void => {
        if (!started) wrapped.destroy();
      };
      wrapped.once('end', endedEarly);
      socket.once('end', endedEarly);
      wrapped.once('close', () => {
        clearTimeout(timer);
        if (!started) {
          this.handshaking--;
          this.release(remote);
        }
      });
      return;
    }
    this.run(socket, socket, remote);
  }

  private release(remote: string): void {
    this.budget.release(remote);
    const n = (this.perAddress.get(remote) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(remote);
    else this.perAddress.set(remote, n);
  }

  /** `socket` carries the session; `tcp` is the TCP socket under it (the same one unless TLS wraps it). */
  private run(socket: Transport, tcp: Transport, remote: string): void {
    const o = this.options;
    const id = this.events.nextSessionId(o.service);
    const peer = { address: remote, port: tcp.remotePort ?? 0 };
    // Bound to one address, the local end is known without a getsockname() per connection.
    const wildcard = this.boundAddress === '0.0.0.0' || this.boundAddress === '::';
    const local = wildcard ? () => ({ address: tcp.localAddress ?? '', port: tcp.localPort ?? 0 }) : { address: this.boundAddress, port: this.boundPort };
    const conn = new Connection(socket, id, o.service, peer, local, this.events, o.maxLineLength, o.idleTimeoutMs, o, this.now(), o.highWaterMark);
    this.open.add(conn);
    // Past the recording budget for new sessions nothing of this one is built (see recordSession).
    // The connection carries the answer (conn.recorded): the bus need not remember the session.
    const recorded = !this.events.wants('session.open') || this.events.recordSession(id, false);
    conn.recorded = recorded;
    if (recorded && this.events.wants('session.open')) {
      this.events.publish({ type: 'session.open', service: o.service, session: id, peer, local: conn.local, tls: conn.isTls });
    }
    conn.onClose((reason) => {
      this.open.delete(conn);
      this.release(remote);
      this.closedBytesIn += conn.bytesIn;
      this.closedBytesOut += conn.bytesOut;
      if (recorded && this.events.wants('session.close')) {
        this.events.publish({
          type: 'session.close',
          service: o.service,
          session: id,
          reason,
          bytesIn: conn.bytesIn,
          bytesOut: conn.bytesOut,
          durationMs: this.now() - conn.openedAt,
        });
      }
    });
    conn.onFailure = this.failed;
    let handled: Promise<void> | void;
    try {
      handled = o.handler(conn);
    } catch (err) {
      this.failed(conn, err);
      return;
    }
    if (handled !== undefined)
      handled.then(
        () => conn.close(conn.closing ? 'server shutdown' : 'session ended'),
        (err: unknown) => this.failed(conn, err),
      );
  }

  /** Isolation: a bug in one session closes that session (with the protocol's error reply), never the process. */
  private readonly failed = (conn: Connection, err: unknown): void => {
    const o = this.options;
    if (err instanceof TlsHandshakeError) {
      // The client's side of STARTTLS went wrong; the connection is closed with the reason already.
      this.logger.info({ service: o.service, session: conn.id, reason: err.message }, 'STARTTLS handshake failed');
      if (!conn.closed) conn.destroy(`TLS handshake failed: ${err.message}`);
      return;
    }
    this.logger.error({ err, service: o.service, session: conn.id }, 'session handler failed');
    this.events.publish({
      type: 'notice',
      service: o.service,
      session: conn.id,
      level: 'error',
      message: `internal error: ${err instanceof Error ? err.message : String(err)}`,
    });
    if (!conn.closed) {
      const text = o.errorReply?.(conn, err);
      if (text !== undefined) conn.write(text);
      conn.close('internal error');
    }
  };

  /**
   * Graceful shutdown: stop accepting; idle sessions close at once (with the shutdown reply), busy
   * ones get `graceMs` to finish, then are closed.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.raw ? this.raw.close(resolve) : this.server!.close(() => resolve())));
    for (const c of this.open.toArray()) c.beginShutdown();
    const deadline = Date.now() + graceMs;
    while (this.open.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const c of this.open.toArray()) c.shutdownNow();
    const hardDeadline = Date.now() + 500;
    while (this.open.size > 0 && Date.now() < hardDeadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const c of this.open.toArray()) c.destroy('server shutdown');
    await closed;
  }
}
