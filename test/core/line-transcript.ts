// Transcript tests for the line protocols: a session runs over an in-memory pair (no socket, no
// listener), the test plays the client from a script, and every server line must match exactly.
//
//   C: EHLO x            sent; consecutive C: lines go out in one write (pipelined)
//   S: 250 2.0.0 Ok      the next line from the server, exactly
//   S~ 250 .* queued     the next line, matching a regular expression (whole line)
//   S: <closed>          the server closes the connection here (nothing more arrives)
//
// Lines starting with # and blank lines are ignored.
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts } from '../../core/auth.js';
import type { LabnetConfig } from '../../core/config.js';
import { EventBus, type ProtocolEvent } from '../../core/events.js';
import { memoryConnection, type MemoryEnd } from '../../core/line-session/index.js';
import type { Connection, ConnectionHooks } from '../../core/connection.js';
import { MailStore } from '../../core/mail-store/index.js';

export const HOST = 'labnet.lab.test';

/** Base64 of a string (SASL responses in scripts). */
export const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** What a mail session needs around it: a mail store in a temporary directory and the accounts alice and bob. */
export interface MailFixture {
  store: MailStore;
  accounts: Accounts;
  config: LabnetConfig;
}

const fixtures: Array<{ store: MailStore; dir: string }> = [];

/** A fresh store holding `messages` in alice's INBOX; remove them all with `closeMailFixtures` (test.after.always). */
export async function mailFixture(messages: readonly string[] = []): Promise<MailFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-transcript-'));
  const store = new MailStore(dir);
  await store.start();
  fixtures.push({ store, dir });
  for (const m of messages) await store.deliver(Buffer.from(m), [{ user: 'alice' }]);
  const config = {
    domain: 'lab.test',
    hostname: HOST,
    users: [
      { name: 'alice', password: 'alice-lab' },
      { name: 'bob', password: 'bob-lab' },
    ],
  } as unknown as LabnetConfig;
  return { store, accounts: new Accounts(config), config };
}

export async function closeMailFixtures(): Promise<void> {
  for (const { store, dir } of fixtures.splice(0)) {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the server's side of an in-memory conversation line by line. */
export class TranscriptClient {
  private buf = '';
  private closed = false;
  private waiter: (() => void) | undefined;

  constructor(readonly end: MemoryEnd) {
    end.setEncoding('latin1');
    end.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    end.on('end', () => {
      this.closed = true;
      this.wake();
    });
    end.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next line without CRLF; null once the server closed and nothing is left. */
  async line(timeoutMs = 5_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from the server within ${timeoutMs} ms (buffered: ${JSON.stringify(this.buf)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  write(text: string): void {
    this.end.write(text, 'latin1');
  }

  /** What arrived and was not read as lines yet. */
  get pending(): string {
    return this.buf;
  }
}

export interface TranscriptSession {
  run(): Promise<void>;
}

export interface TranscriptLab<S extends TranscriptSession> {
  events: EventBus;
  /** Every event published, in order. */
  published: ProtocolEvent[];
  /** Starts a session over a fresh in-memory pair; returns the client side and the session. */
  open(): { client: TranscriptClient; session: S; conn: Connection; done: Promise<void> };
}

/** A fresh event bus (recording everything) and a way to open sessions of one protocol in memory. */
export function transcriptLab<S extends TranscriptSession>(
  service: string,
  maxLineLength: number,
  make: (conn: Connection, events: EventBus) => S,
  connection: { idleTimeoutMs?: number; hooks?: (events: EventBus) => ConnectionHooks } = {},
): TranscriptLab<S> {
  const events = new EventBus();
  const published: ProtocolEvent[] = [];
  events.subscribe((e) => published.push(e));
  return {
    events,
    published,
    open() {
      const { conn, client } = memoryConnection({
        service,
        events,
        maxLineLength,
        ...(connection.idleTimeoutMs !== undefined ? { idleTimeoutMs: connection.idleTimeoutMs } : {}),
        ...(connection.hooks ? { hooks: connection.hooks(events) } : {}),
      });
      const session = make(conn, events);
      // As TcpServer does: the connection closes when the session's run() resolves.
      const done = session.run().then(
        () => conn.close('session ended'),
        (err: unknown) => {
          conn.destroy('internal error');
          throw err;
        },
      );
      return { client: new TranscriptClient(client), session, conn, done };
    },
  };
}

/** Plays `script` against the session behind `client` (see the top of this file). */
export async function play(t: ExecutionContext, client: TranscriptClient, script: string): Promise<void> {
  const lines = script
    .split('\n')
    .map((l) => l.replace(/^\s+/, ''))
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  let outgoing: string[] = [];
  const send = (): void => {
    if (outgoing.length > 0) client.write(outgoing.map((l) => `${l}\r\n`).join(''));
    outgoing = [];
  };
  let step = 0;
  for (const l of lines) {
    step++;
    const kind = l.slice(0, 3);
    const text = l.slice(3);
    if (kind === 'C: ' || l === 'C:') {
      outgoing.push(l === 'C:' ? '' : text);
      continue;
    }
    send();
    const got = await client.line();
    if (kind === 'S: ' && text === '<closed>') {
      t.is(got, null, `step ${step}: expected the server to close, got ${JSON.stringify(got)}`);
      continue;
    }
    if (got === null) {
      t.fail(`step ${step}: the server closed; expected ${JSON.stringify(text)}`);
      return;
    }
    if (kind === 'S: ') t.is(got, text, `step ${step}`);
    else if (kind === 'S~ ') t.regex(got, new RegExp(`^(?:${text})$`), `step ${step}`);
    else throw new Error(`transcript line ${step} starts with neither C:, S: nor S~: ${l}`);
  }
  send();
}
