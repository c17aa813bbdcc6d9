// An in-process IMAP session over a fresh mail store for raw transcript tests (rev2, UTF8=ACCEPT,
// CONTEXT=SEARCH): alice's INBOX holds `count` appended messages.
import { TlsPolicy } from '../../core/line-session/index.js';
import type { MailStore } from '../../core/mail-store/index.js';
import { imapCommandTable } from '../../services/imap/commands/registry.js';
import { ImapSession } from '../../services/imap/imap-session.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { MailStoreAdapter } from '../../services/imap/store-adapter.js';
import { mailFixture, transcriptLab, type TranscriptClient } from '../core/line-transcript.js';

export const msg = (n: number): string => `From: bob@lab.test\r\nSubject: m${n}\r\n\r\nbody ${n}\r\n`;

export async function imapLab(count: number): Promise<{ store: MailStore; open: () => TranscriptClient; uidValidity: number }> {
  const fx = await mailFixture();
  for (let i = 1; i <= count; i++) await fx.store.append('alice', 'INBOX', Buffer.from(msg(i)));
  const shared = {
    store: new MailStoreAdapter(fx.store),
    accounts: fx.accounts,
    hostname: 'labnet.lab.test',
    config: { appendLimit: 100_000, maxSessionsPerUser: 10, autologoutMs: 60_000, preAuthTimeoutMs: 60_000 },
    commands: imapCommandTable(),
    sessionsPerUser: new Map<string, number>(),
    tls: TlsPolicy.none(),
  };
  const l = transcriptLab('imap', IMAP_LIMITS.maxLineLength, (conn, events) => new ImapSession(conn, { ...shared, events }));
  const uidValidity = (await fx.store.open('alice', 'INBOX')).uidValidity;
  return { store: fx.store, open: () => l.open().client, uidValidity };
}

/** Greeting and LOGIN, lines not compared. */
export async function login(client: TranscriptClient): Promise<void> {
  await client.line();
  client.write('l LOGIN alice alice-lab\r\n');
  for (;;) {
    const l = await client.line();
    if (l === null || l.startsWith('l ')) return;
  }
}

/** Sends `head`, the literal octets and `tail` as one write (literals with CRLF cannot be script lines). */
export function writeLiteral(client: TranscriptClient, head: string, literal: string, tail: string): void {
  client.write(`${head}${literal}${tail}\r\n`);
}
