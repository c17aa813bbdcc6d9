// The byte stream under a Connection: the part of a socket that the framer, the connection and the
// protocol engines use, and nothing more. Two implementations exist:
// - `net`: node:net's Socket (and node:tls's TLSSocket, which extends it) satisfies this interface as
//   it is; every listener can use it, and STARTTLS needs it (node:tls wraps a real stream).
// - `raw`: core/raw-tcp.ts, straight on libuv's TCP handle through Node's internal tcp_wrap binding,
//   for plain listeners whose sessions never upgrade in place (HTTP). It halves the per-connection
//   cost of `Connection: close` traffic, but the binding is undocumented, so it is optional: a
//   listener asks for it and falls back to `net` when this Node does not offer it.

/** Which transport a plain listener accepts on. */
export type TransportKind = 'raw' | 'net';

export interface Transport {
  /** Octets received (each chunk is the listener's own; keep it as long as you like). */
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  /** The socket failed; 'close' follows. */
  on(event: 'error', listener: (err: Error) => void): this;
  /** 'end': the peer sent FIN; 'close': the socket is gone; 'drain': the send buffer emptied; 'timeout': see setTimeout. */
  on(event: 'end' | 'close' | 'drain' | 'timeout', listener: () => void): this;
  once(event: 'data', listener: (chunk: Buffer) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'end' | 'close' | 'drain' | 'timeout', listener: () => void): this;
  off(event: 'data', listener: (chunk: Buffer) => void): this;
  off(event: 'error', listener: (err: Error) => void): this;
  off(event: 'end' | 'close' | 'drain' | 'timeout', listener: () => void): this;

  /** Queues octets; false once the send buffer is past its high-water mark (wait for 'drain'). */
  write(data: string | Buffer): boolean;
  /** Writes between cork() and uncork() leave as one system call (writev). */
  cork(): void;
  uncork(): void;
  /** The send buffer is past its high-water mark: stop writing until 'drain'. */
  readonly writableNeedDrain: boolean;
  /** Octets written but not yet taken by the kernel. */
  readonly writableLength: number;

  /** Stops reading (TCP flow control then holds the peer back) / reads again. */
  pause(): this;
  resume(): this;
  setNoDelay(noDelay?: boolean): this;
  /** Emits 'timeout' after `ms` without reads or writes; 0 turns it off. */
  setTimeout(ms: number): this;

  /** Sends what is queued (and `data`), then FIN. */
  end(): this;
  end(data: string | Buffer): this;
  /** Closes at once, dropping what is queued. */
  destroy(err?: Error): this;
  readonly destroyed: boolean;

  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;

  /**
   * Optional: sends what is queued and closes without waiting for the peer's FIN (for a peer known to
   * have sent nothing unread). Transports without it are ended with `end()`.
   */
  endNow?(): this;
  /** Optional: the transport destroys an ended socket whose peer never closes by itself (no timer needed). */
  readonly selfClosing?: boolean;
}
