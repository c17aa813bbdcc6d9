// A minimal POP3 wire client for transcript tests and the benchmark: send a line, read a status line
// or a dot-terminated multi-line response, exactly as octets. Deliberately tiny and independent of
// the server code (it does its own un-stuffing).
import { connect, type Socket } from 'node:net';

export interface Pop3Wire {
  socket: Socket;
  /** Next line without CRLF; rejects if the connection closes first. */
  line(): Promise<string>;
  /** Reads a multi-line payload after a +OK status line: lines to ".", un-stuffed, CRLF kept. */
  multiline(): Promise<Buffer>;
  send(line: string): void;
  /** Sends a command and returns its status line. */
  cmd(line: string): Promise<string>;
  /** Sends a command and, if +OK, also reads the multi-line payload. */
  multi(line: string): Promise<{ status: string; data: Buffer }>;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
}

const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n');

export function pop3Connect(port: number, host = '127.0.0.1'): Promise<Pop3Wire> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let ended = false;
    let waiter: (() => void) | undefined;
    const wake = (): void => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      wake();
    });
    socket.on('close', () => {
      ended = true;
      wake();
    });
    socket.on('error', () => {});
    const more = (): Promise<void> => {
      if (ended) return Promise.reject(new Error('connection closed'));
      return new Promise((r) => (waiter = r));
    };
    const line = async (): Promise<string> => {
      for (;;) {
        const i = buf.indexOf('\r\n');
        if (i >= 0) {
          const l = buf.subarray(0, i).toString('utf8');
          buf = buf.subarray(i + 2);
          return l;
        }
        await more();
      }
    };
    const multiline = async (): Promise<Buffer> => {
      for (;;) {
        // The payload ends at CRLF "." CRLF, or is empty (".\r\n" right away).
        if (buf.length >= 3 && buf[0] === 0x2e && buf[1] === 0x0d && buf[2] === 0x0a) {
          buf = buf.subarray(3);
          return Buffer.alloc(0);
        }
        const i = buf.indexOf(CRLF_DOT_CRLF);
        if (i >= 0) {
          const raw = buf.subarray(0, i + 2);
          buf = buf.subarray(i + 5);
          return unstuff(raw);
        }
        await more();
      }
    };
    const send = (l: string): void => {
      socket.write(`${l}\r\n`);
    };
    const wire: Pop3Wire = {
      socket,
      line,
      multiline,
      send,
      async cmd(l) {
        send(l);
        return line();
      },
      async multi(l) {
        send(l);
        const status = await line();
        return { status, data: status.startsWith('+OK') ? await multiline() : Buffer.alloc(0) };
      },
      closed,
      isClosed: () => ended,
      close: () => socket.destroy(),
    };
    socket.once('connect', () => resolve(wire));
    socket.once('error', reject);
  });
}

/** Removes one leading dot from every line that starts with one (RFC 1939 section 3). */
export function unstuff(raw: Buffer): Buffer {
  if (raw[0] !== 0x2e && raw.indexOf('\n.') < 0) return raw;
  const parts: Buffer[] = [];
  let from = raw[0] === 0x2e ? 1 : 0;
  let i = raw.indexOf('\n.', from);
  while (i >= 0) {
    parts.push(raw.subarray(from, i + 1));
    from = i + 2;
    i = raw.indexOf('\n.', from);
  }
  parts.push(raw.subarray(from));
  return Buffer.concat(parts);
}
