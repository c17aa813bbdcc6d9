// POP3's view of the shared mail store: the INBOX of each user. UIDL is the store's stable unique-id
// for the message (from its Maildir unique name), so it survives sessions and restarts and is the
// same value Dovecot would give for the same Maildir.
import { INBOX, type MailStore } from '../../core/mail-store/index.js';
import { POP3_LIMITS } from './limits.js';
import type { MaildropEntry, MaildropStore, MessageContent } from './maildrop.js';

export interface StoreEntry extends MaildropEntry {
  /** The store's (IMAP) UID of the message in INBOX. */
  storeUid: number;
}

export class StoreMaildrop implements MaildropStore<StoreEntry> {
  constructor(private readonly store: MailStore) {}

  lock(user: string, owner: unknown): (() => void) | undefined {
    return this.store.lockMaildrop(user, owner);
  }

  holder(user: string): unknown {
    return this.store.maildropHolder(user);
  }

  async list(user: string): Promise<StoreEntry[]> {
    const snap = await this.store.open(user, INBOX);
    return snap.messages.map((m) => ({ uid: m.uidl, size: m.size, storeUid: m.uid }));
  }

  async read(user: string, entry: StoreEntry): Promise<MessageContent> {
    if (entry.size <= POP3_LIMITS.wholeMessageMax) {
      return { kind: 'buffer', data: await this.store.read(user, INBOX, entry.storeUid, { blockingUpTo: POP3_LIMITS.blockingReadMax }) };
    }
    const stream = await this.store.stream(user, INBOX, entry.storeUid);
    return { kind: 'stream', chunks: stream as AsyncIterable<Buffer> };
  }

  async remove(user: string, entries: readonly StoreEntry[]): Promise<{ failed: number }> {
    const uids = entries.map((e) => e.storeUid);
    const removed = new Set(await this.store.expunge(user, INBOX, uids));
    // A message another client (IMAP) already removed is gone too: only count those still there.
    let failed = 0;
    for (const uid of uids) if (!removed.has(uid) && (await this.store.getMessage(user, INBOX, uid))) failed++;
    return { failed };
  }
}
