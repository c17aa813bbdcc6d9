// A minimal IMAP wire client for transcript tests: send exact octets, read until a tagged line.
import { connect, type Socket } from 'node:net';

export class RawImap {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawImap> {
    const sock = connect(port, '127.0.0.1');
    const c = new RawImap(sock);
    await c.until(/^\* OK .*\r\n/m);
    return c;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Waits until the buffer matches `re` (or the peer closed); returns and consumes everything so far. */
  async until(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.buf)) {
      if (this.closed) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; got:\n${this.buf}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    const out = this.buf;
    this.buf = '';
    return out;
  }

  write(text: string): void {
    this.sock.write(text, 'latin1');
  }

  /** Sends "tag command" and returns the response up to the tagged completion. */
  async cmd(tag: string, command: string): Promise<string> {
    this.write(`${tag} ${command}\r\n`);
    return this.until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'));
  }

  /** Waits a little and returns what arrived (possibly nothing). */
  async drain(ms = 300): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.buf;
    this.buf = '';
    return out;
  }

  close(): void {
    this.sock.destroy();
  }
}
