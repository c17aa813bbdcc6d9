// STATUS (RFC 3501 section 6.3.10), plus SIZE (RFC 8438) and APPENDLIMIT (RFC 7889) items.
import type { Token } from '../command-parser.js';
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad } from '../imap-errors.js';
import { statusResponse } from '../imap-writer.js';
import type { ImapSession } from '../imap-session.js';
import { mailbox, storeFailure } from './args.js';

// DELETED: IMAP4rev2 (RFC 9051 section 6.3.11), the number of messages with \Deleted.
const ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'APPENDLIMIT', 'HIGHESTMODSEQ', 'DELETED']);

export function parseStatusItems(tok: Token | undefined): string[] {
  if (!tok || tok.t !== 'list' || tok.v.length === 0) throw bad('STATUS needs a list of items');
  return tok.v.map((t) => {
    const v = t.t === 'atom' ? t.v.toUpperCase() : '';
    if (!ITEMS.has(v)) throw bad(`unknown STATUS item ${v.slice(0, 20)}`);
    return v;
  });
}

/**
 * Messages with \Deleted: from the session's own view when the mailbox is selected, else the
 * store's count (STATUS computes it with the others, under the folder's lock).
 */
function deletedCount(s: ImapSession, name: string, stored: number): number {
  if (s.selected?.folder.name !== name) return stored;
  let n = 0;
  for (const m of s.selected.messages) if (m.flags.includes('\\Deleted')) n++;
  return n;
}

export async function statusLine(s: ImapSession, name: string, items: string[]): Promise<string> {
  const st = await s.store.status(s.requireUser(), name);
  const deleted = items.includes('DELETED') ? deletedCount(s, name, st.deleted) : 0;
  const values: Record<string, number> = {
    MESSAGES: st.messages,
    RECENT: st.recent,
    UIDNEXT: st.uidNext,
    UIDVALIDITY: st.uidValidity,
    UNSEEN: st.unseen,
    SIZE: st.size,
    APPENDLIMIT: s.shared.config.appendLimit,
    HIGHESTMODSEQ: st.highestModseq,
    DELETED: deleted,
  };
  return statusResponse(s.mailboxOut(name), items, values);
}

export const status: ImapCommand = {
  name: 'STATUS',
  states: AUTHED,
  minArgs: 2,
  maxArgs: 2,
  expungeAfter: true,
  async handler(s, cmd) {
    const name = mailbox(cmd.args[0], s.utf8);
    const items = parseStatusItems(cmd.args[1]);
    // RFC 7162 section 3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command.
    if (items.includes('HIGHESTMODSEQ')) s.condstoreOn();
    try {
      s.send(await statusLine(s, name, items));
    } catch (err) {
      storeFailure(err, name);
    }
    return 'OK STATUS completed';
  },
};
