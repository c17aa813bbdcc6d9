// In-process IMAP sessions over a mail store for raw transcript tests: `imapSessions` builds the
// sessions' shared setup once for every transcript test file; `imapLab` is a fresh store whose alice
// has `count` appended messages in INBOX; `login` and `command` drive a session.
import type { Accounts } from '../../core/auth.js';
import { TlsPolicy, type Interceptor } from '../../core/line-session/index.js';
import { MailStore as MailStoreClass, type MailStore } from '../../core/mail-store/index.js';
import { imapCommandTable } from '../../services/imap/commands/registry.js';
import { ImapSession } from '../../services/imap/imap-session.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { MailStoreAdapter } from '../../services/imap/store-adapter.js';
import { MailboxListHub } from '../../services/imap/notify.js';
import { mailFixture, transcriptLab, type TranscriptClient, type TranscriptLab } from '../core/line-transcript.js';

export const msg = (n: number): string => `From: bob@lab.test\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`;

/** IMAP sessions over `store` for alice and bob (the fixture's accounts), as the service makes them. */
export function imapSessions(
  store: MailStore,
  accounts: Accounts,
  o: { tls?: TlsPolicy; interceptor?: Interceptor; appendLimit?: number } = {},
): TranscriptLab<ImapSession> {
  const shared = {
    store: new MailStoreAdapter(store),
    accounts,
    hostname: 'labnet.lab.test',
    config: { appendLimit: o.appendLimit ?? 100_000, maxSessionsPerUser: 10, autologoutMs: 60_000, preAuthTimeoutMs: 60_000 },
    commands: imapCommandTable(),
    sessionsPerUser: new Map<string, number>(),
    mailboxList: new MailboxListHub(),
    tls: o.tls ?? TlsPolicy.none(),
    ...(o.interceptor !== undefined ? { interceptor: o.interceptor } : {}),
  };
  return transcriptLab('imap', IMAP_LIMITS.maxLineLength, (conn, events) => new ImapSession(conn, { ...shared, events }));
}

/** Stores made here with other options than the fixture's (stopped by `stopExtraStores`). */
const extraStores: MailStore[] = [];

export async function stopExtraStores(): Promise<void> {
  for (const s of extraStores.splice(0)) await s.stop();
}

/**
 * A fresh store whose alice has `count` messages APPENDed to INBOX (each its own change, so the
 * mod-sequences are known; deliveries are batched). `expungeHistory` restarts the fixture's store on
 * the same directory with that history bound.
 */
export async function imapLab(
  count: number,
  options: { expungeHistory?: number } = {},
): Promise<{ store: MailStore; open: () => TranscriptClient; uidValidity: number; highest: () => Promise<number> }> {
  const fx = await mailFixture();
  if (options.expungeHistory !== undefined) {
    const dir = fx.store.root;
    await fx.store.stop();
    fx.store = new MailStoreClass({ root: dir, expungeHistory: options.expungeHistory });
    await fx.store.start();
    extraStores.push(fx.store);
  }
  for (let i = 1; i <= count; i++) await fx.store.append('alice', 'INBOX', Buffer.from(msg(i)));
  const l = imapSessions(fx.store, fx.accounts);
  const uidValidity = (await fx.store.open('alice', 'INBOX')).uidValidity;
  return {
    store: fx.store,
    open: () => l.open().client,
    uidValidity,
    highest: async () => (await fx.store.status('alice', 'INBOX')).highestModseq,
  };
}

/** Greeting and LOGIN, lines not compared. */
export async function login(client: TranscriptClient): Promise<void> {
  await client.line();
  client.write('l LOGIN alice alice-lab\r\n');
  await untilTagged(client, 'l');
}

/** The lines up to and with the tagged answer to `tag` (all of them when the connection closes first). */
export async function untilTagged(client: TranscriptClient, tag: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const l = await client.line();
    if (l === null) return out;
    out.push(l);
    if (l.startsWith(`${tag} `)) return out;
  }
}

/** Sends one command and gives back every line up to and with its tagged answer; throws if the connection closes first. */
export async function exchange(client: TranscriptClient, tag: string, text: string): Promise<string[]> {
  client.write(`${tag} ${text}\r\n`);
  const lines = await untilTagged(client, tag);
  if (!lines.at(-1)?.startsWith(`${tag} `)) throw new Error(`closed during ${text} after ${JSON.stringify(lines)}`);
  return lines;
}

/** Sends one command and gives back its untagged lines; throws unless the tagged answer is OK. */
export async function command(client: TranscriptClient, tag: string, text: string): Promise<string[]> {
  const lines = await exchange(client, tag, text);
  const last = lines.pop()!;
  if (!last.startsWith(`${tag} OK`)) throw new Error(`${text}: ${last}`);
  return lines;
}

/** Sends `head`, the literal octets and `tail` as one write (literals with CRLF cannot be script lines). */
export function writeLiteral(client: TranscriptClient, head: string, literal: string, tail: string): void {
  client.write(`${head}${literal}${tail}\r\n`);
}
