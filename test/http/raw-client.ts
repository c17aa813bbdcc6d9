// A raw TCP client for HTTP tests: send exact octets, read responses one at a time (with
// Content-Length bodies), and see whether the server closed the connection.
import { connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';

export interface RawResponse {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  /** Header names in order, lower case (repeated names kept). */
  names: string[];
  body: Buffer;
  text: string;
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Reads one response; `head` for a HEAD request (no body whatever Content-Length says). */
  async response(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const headText = this.buf.subarray(0, end).toString('latin1');
        const lines = headText.split('\r\n');
        const statusLine = lines[0];
        const status = Number(statusLine.split(' ')[1]);
        const headers: Record<string, string> = {};
        const names: string[] = [];
        for (const l of lines.slice(1)) {
          const c = l.indexOf(':');
          const n = l.slice(0, c).toLowerCase();
          names.push(n);
          headers[n] = l.slice(c + 1).trim();
        }
        const noBody = options.head || status < 200 || status === 204 || status === 304;
        const len = noBody ? 0 : Number(headers['content-length'] ?? 0);
        if (this.buf.length >= end + 4 + len) {
          const body = this.buf.subarray(end + 4, end + 4 + len);
          this.buf = this.buf.subarray(end + 4 + len);
          return { status, statusLine, headers, names, body, text: body.toString('utf8') };
        }
      }
      if (this.closed) throw new Error(`connection closed before a complete response; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.wait(left)))
        throw new Error(`no complete response in time; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
    }
  }

  /** Resolves true if the server closes the connection within timeoutMs. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    if (this.closed) return true;
    return Promise.race([this.closedPromise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
  }

  /** Octets received and not yet read as a response. */
  get pending(): string {
    return this.buf.toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh connection; also reports whether the server closed afterwards. */
export async function rawRequest(port: number, data: string | Buffer, options: { head?: boolean } = {}): Promise<RawResponse & { closed: boolean }> {
  const c = await RawClient.open(port);
  try {
    c.send(data);
    const r = await c.response(options);
    // A response announcing the close must be followed by one; otherwise just look briefly.
    const closed = await c.closesWithin(r.headers.connection === 'close' ? 5000 : 150);
    return { ...r, closed };
  } finally {
    c.destroy();
  }
}

/** Runs curl; resolves with its exit code, stdout and stderr. */
export function curl(args: string[], input?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('curl', ['-s', '--max-time', '20', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    // curl may stop reading its upload once the server has answered (a 413, say) and exit: the rest
    // of our write then fails with EPIPE on the pipe, which must not bring down the test worker.
    p.stdin.on('error', () => {});
    if (input) p.stdin.end(input);
    else p.stdin.end();
  });
}
