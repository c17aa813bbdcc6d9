// STATUS (RFC 3501 section 6.3.10), plus SIZE (RFC 8438) and APPENDLIMIT (RFC 7889) items.
import type { Token } from '../command-parser.js';
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { astr } from '../imap-writer.js';
import { encodeMutf7 } from '../mutf7.js';
import { mailbox, storeFailure } from './args.js';

const ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'APPENDLIMIT', 'HIGHESTMODSEQ']);

export function parseStatusItems(tok: Token | undefined): string[] {
  if (!tok || tok.t !== 'list' || tok.v.length === 0) throw bad('STATUS needs a list of items');
  return tok.v.map((t) => {
    const v = t.t === 'atom' ? t.v.toUpperCase() : '';
    if (!ITEMS.has(v)) throw bad(`unknown STATUS item ${v.slice(0, 20)}`);
    return v;
  });
}

export async function statusLine(s: ImapSession, name: string, items: string[]): Promise<string> {
  const st = await s.store.status(s.requireUser(), name);
  const values: Record<string, number> = {
    MESSAGES: st.messages,
    RECENT: st.recent,
    UIDNEXT: st.uidNext,
    UIDVALIDITY: st.uidValidity,
    UNSEEN: st.unseen,
    SIZE: st.size,
    APPENDLIMIT: s.shared.config.appendLimit,
    HIGHESTMODSEQ: st.highestModseq,
  };
  return `* STATUS ${astr(encodeMutf7(name))} (${items.map((i) => `${i} ${values[i]}`).join(' ')})`;
}

export const status: ImapCommand = {
  name: 'STATUS',
  states: AUTHED,
  minArgs: 2,
  maxArgs: 2,
  expungeAfter: true,
  async handler(s, cmd) {
    const name = mailbox(cmd.args[0]);
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
