// Two in-memory stream ends joined like a TCP connection, so a line session can run without a socket:
// transcript tests drive SMTP, POP3 and IMAP sessions through them in a few milliseconds. Each end
// has what a session uses of a socket (idle timeout, no-delay, addresses); a TLS upgrade works over it
// too (node:tls wraps any duplex stream).
import { Duplex } from 'node:stream';
import { Connection, type ConnectionHooks } from '../connection.js';
import type { EventBus } from '../events.js';

export class MemoryEnd extends Duplex {
  peer: MemoryEnd | undefined;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    // Like a TCP socket: the end of input ends this side too (a FIN each way), then 'close'.
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    this.peer?.receive(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.receive(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimer();
    const peer = this.peer;
    this.peer = undefined;
    if (peer && !peer.destroyed) {
      peer.peer = undefined;
      peer.receive(null);
    }
    callback(error);
  }

  private receive(chunk: Buffer | null): void {
    if (this.readableEnded || this.destroyed) return;
    this.touch();
    this.push(chunk);
  }

  setNoDelay(): this {
    return this;
  }

  /** Emits 'timeout' after `ms` without traffic either way (0 turns it off), as net.Socket does. */
  setTimeout(ms: number): this {
    this.timeoutMs = ms;
    this.touch();
    return this;
  }

  private touch(): void {
    this.clearTimer();
    if (this.timeoutMs > 0 && !this.destroyed) {
      this.timer = setTimeout(() => this.emit('timeout'), this.timeoutMs);
      this.timer.unref();
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Two joined ends: what one writes, the other reads. */
export function memoryPair(): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export interface MemoryConnectionOptions {
  service: string;
  events: EventBus;
  /** The framer's line limit (the listener's maxLineLength). */
  maxLineLength: number;
  idleTimeoutMs?: number;
  hooks?: ConnectionHooks;
}

/** A Connection over an in-memory pair: `conn` for the session, `client` for the test to talk through. */
export function memoryConnection(o: MemoryConnectionOptions): { conn: Connection; client: MemoryEnd } {
  const [server, client] = memoryPair();
  const endpoint = { address: '127.0.0.1', port: 0 };
  const conn = new Connection(
    server,
    o.events.nextSessionId(o.service),
    o.service,
    endpoint,
    endpoint,
    o.events,
    o.maxLineLength,
    o.idleTimeoutMs ?? 60_000,
    o.hooks ?? {},
    Date.now(),
  );
  return { conn, client };
}
