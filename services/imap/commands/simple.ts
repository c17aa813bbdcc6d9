// CAPABILITY, NOOP, CHECK, LOGOUT, ID, NAMESPACE, ENABLE: commands without mailbox work.
import { ANY, AUTHED, SELECTED, type ImapCommand } from '../command-spec.js';
import { bad } from '../imap-errors.js';
import { list, nstr, str, binary } from '../imap-writer.js';
import { ENABLEABLE } from '../condstore.js';
import { astring } from './args.js';

export const capability: ImapCommand = {
  name: 'CAPABILITY',
  states: ANY,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  handler(s) {
    s.send(`* CAPABILITY ${s.capabilities()}`);
    return 'OK CAPABILITY completed';
  },
};

/**
 * NOOP (RFC 3501 section 6.1.2): its point is the untagged updates sent before the OK. It first
 * lets changes already queued on the folder land, so mail acknowledged by SMTP shows up.
 */
export const noop: ImapCommand = {
  name: 'NOOP',
  states: ANY,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  async handler(s) {
    await s.selected?.folder.settle();
    return 'OK NOOP completed';
  },
};

/** CHECK (section 6.4.1): the store writes durably as it goes; like NOOP it reports changes. */
export const check: ImapCommand = {
  name: 'CHECK',
  states: SELECTED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  async handler(s) {
    await s.selected?.folder.settle();
    return 'OK CHECK completed';
  },
};

export const logout: ImapCommand = {
  name: 'LOGOUT',
  states: ANY,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  handler(s, cmd) {
    s.sendLines(['* BYE labnet IMAP server logging out', `${cmd.tag} OK LOGOUT completed`]);
    s.logout();
    s.flush();
    s.conn.close('logout');
    return '';
  },
};

/** ID (RFC 2971): the client's fields are ignored (bounded: at most 30 pairs). */
export const id: ImapCommand = {
  name: 'ID',
  states: ANY,
  minArgs: 1,
  maxArgs: 1,
  expungeAfter: true,
  handler(s, cmd) {
    const arg = cmd.args[0];
    if (arg.t === 'list') {
      if (arg.v.length % 2 !== 0 || arg.v.length > 60) throw bad('ID takes at most 30 field/value pairs');
    } else if (!(arg.t === 'atom' && arg.v.toUpperCase() === 'NIL')) throw bad('ID takes a list or NIL');
    s.send(`* ID ${list([str('name'), str('labnet'), str('vendor'), str('labnet classroom lab'), str('support-url'), nstr(null)].slice(0, 4))}`);
    return 'OK ID completed';
  },
};

/** NAMESPACE (RFC 2342): one personal namespace, no shared or other users' namespaces. */
export const namespace: ImapCommand = {
  name: 'NAMESPACE',
  states: AUTHED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  handler(s) {
    s.send(`* NAMESPACE (("" ${str(s.store.delimiter)})) NIL NIL`);
    return 'OK NAMESPACE completed';
  },
};

/**
 * ENABLE (RFC 5161): turns on the extensions of the ENABLEABLE table (condstore.ts) the client
 * names; unknown names are ignored (section 3.1). ENABLED lists those this command turned on.
 */
const ENABLEABLE_BY_UPPER = new Map([...ENABLEABLE.keys()].map((k) => [k.toUpperCase(), k]));

export const enable: ImapCommand = {
  name: 'ENABLE',
  states: AUTHED,
  minArgs: 1,
  maxArgs: 50,
  expungeAfter: true,
  handler(s, cmd) {
    const names = cmd.args.map((a) => astring(a, 'capability').toUpperCase());
    const turnedOn: string[] = [];
    for (const typed of names) {
      // The table's spelling ("IMAP4rev2"); the client may send any case (capabilities are case-insensitive).
      const name = ENABLEABLE_BY_UPPER.get(typed) ?? typed;
      const ext = ENABLEABLE.get(name);
      if (!ext || s.enabled.has(name)) continue;
      // CONDSTORE goes through condstoreOn: with a mailbox selected the client learns its HIGHESTMODSEQ.
      for (const implied of [...ext.implies, name]) {
        if (implied === 'CONDSTORE') s.condstoreOn();
        else s.enabled.add(implied);
      }
      turnedOn.push(name);
    }
    s.send(turnedOn.length > 0 ? `* ENABLED ${turnedOn.join(' ')}` : '* ENABLED');
    return 'OK ENABLE completed';
  },
};

export { binary };
