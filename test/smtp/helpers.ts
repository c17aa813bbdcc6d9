// Shared helpers for the SMTP tests: the real labnet process with SMTP on free ports, reading what
// landed in a Maildir, removing the trace fields labnet adds, and a raw line-based SMTP client.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';

export async function startSmtpLab(smtp: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<LabProcess> {
  return startLabProcess({ only: ['smtp'], config: { services: { smtp: { port: 0, submissionPort: 0, ...smtp } }, ...extra } });
}

/** Every message file of a user's folder (new/ and cur/), as buffers. */
export function maildirMessages(dataDir: string, user: string, folder = 'INBOX'): Buffer[] {
  const dir = folder === 'INBOX' ? join(dataDir, 'mail', user) : join(dataDir, 'mail', user, `.${folder}`);
  const out: Buffer[] = [];
  for (const sub of ['new', 'cur']) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) out.push(readFileSync(join(d, f)));
  }
  return out;
}

/** Removes the Return-Path and Received fields labnet prepends (and the capture note), nothing else. */
export function stripTrace(message: Buffer): Buffer {
  let text = message.toString('latin1');
  const drop = (name: string): void => {
    const re = new RegExp(`^${name}:[^\\r\\n]*\\r\\n(?:[ \\t][^\\r\\n]*\\r\\n)*`, 'i');
    text = text.replace(re, '');
  };
  drop('Return-Path');
  drop('Received');
  drop('X-Labnet-Captured-For');
  return Buffer.from(text, 'latin1');
}

/** The trace header block labnet put in front of a message. */
export function traceOf(message: Buffer): string {
  const body = stripTrace(message);
  return message.subarray(0, message.length - body.length).toString('utf8');
}

/** Finds the stored message containing `needle` (after stripping the trace). */
export function findMessage(dataDir: string, user: string, needle: string, folder = 'INBOX'): Buffer | undefined {
  return maildirMessages(dataDir, user, folder).find((m) => m.includes(needle));
}

/** A raw SMTP client: send bytes, read replies (complete multi-line replies). */
export class RawSmtp {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Next complete reply (all its lines), or null when the connection closed first. */
  async reply(timeoutMs = 20_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].replace(/\r\n$/, '');
      }
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a command line and returns its reply. */
  async cmd(line: string): Promise<string | null> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Resolves when the server closed the connection. */
  async closedByServer(timeoutMs = 20_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.closed;
  }

  end(): void {
    this.socket.end();
  }
}
