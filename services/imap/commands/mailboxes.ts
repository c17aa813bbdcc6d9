// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 sections 6.3.3-6.3.7).
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { no } from '../imap-errors.js';
import { IMAP_LIMITS } from '../limits.js';
import { mailbox, storeFailure } from './args.js';

/**
 * A new name may not hold the LIST wildcards: RFC 3501 section 5.1 (item 3) allows them but warns that
 * such a mailbox is hard to use with LIST, where "%" and "*" are patterns; refusing them keeps every
 * mailbox listable exactly. Existing names are not checked (SELECT, DELETE of such a name still work).
 */
function newName(name: string): string {
  if (/[%*]/.test(name)) throw no(`Invalid mailbox name ${name}: "%" and "*" are LIST wildcards`, 'CANNOT');
  return name;
}

export const create: ImapCommand = {
  name: 'CREATE',
  states: AUTHED,
  minArgs: 1,
  maxArgs: 2,
  expungeAfter: true,
  async handler(s, cmd) {
    let name = newName(mailbox(cmd.args[0], s.utf8));
    // A trailing delimiter only says the client plans children (section 6.3.3).
    if (name.endsWith(s.store.delimiter)) name = name.slice(0, -1);
    if (name === 'INBOX') throw no('INBOX always exists', 'ALREADYEXISTS');
    try {
      await s.store.create(s.requireUser(), name);
    } catch (err) {
      storeFailure(err, name);
    }
    s.mailboxListChanged({ kind: 'create', name });
    return 'OK CREATE completed';
  },
};

export const del: ImapCommand = {
  name: 'DELETE',
  states: AUTHED,
  minArgs: 1,
  maxArgs: 1,
  expungeAfter: true,
  async handler(s, cmd) {
    const name = mailbox(cmd.args[0], s.utf8);
    if (name === 'INBOX') throw no('INBOX cannot be deleted', 'CANNOT');
    if (s.selected && s.selected.folder.name === name) s.select(undefined);
    try {
      await s.store.delete(s.requireUser(), name);
    } catch (err) {
      storeFailure(err, name);
    }
    s.mailboxListChanged({ kind: 'delete', name });
    return 'OK DELETE completed';
  },
};

/** RENAME; renaming INBOX moves its messages to the new folder and leaves INBOX empty (section 6.3.5). */
export const rename: ImapCommand = {
  name: 'RENAME',
  states: AUTHED,
  minArgs: 2,
  maxArgs: 2,
  expungeAfter: true,
  async handler(s, cmd) {
    const from = mailbox(cmd.args[0], s.utf8);
    const to = newName(mailbox(cmd.args[1], s.utf8));
    if (to === 'INBOX') throw no('Cannot rename to INBOX', 'ALREADYEXISTS');
    // Renaming the selected mailbox (or a parent) ends the selection rather than the session.
    const sel = s.selected?.folder.name;
    if (sel && from !== 'INBOX' && (sel === from || sel.startsWith(from + s.store.delimiter))) s.select(undefined);
    try {
      await s.store.rename(s.requireUser(), from, to);
    } catch (err) {
      storeFailure(err, from);
    }
    s.mailboxListChanged({ kind: 'rename', name: to, oldName: from });
    return 'OK RENAME completed';
  },
};

function subscription(on: boolean): ImapCommand {
  return {
    name: on ? 'SUBSCRIBE' : 'UNSUBSCRIBE',
    states: AUTHED,
    minArgs: 1,
    maxArgs: 1,
    expungeAfter: true,
    async handler(s, cmd) {
      const name = mailbox(cmd.args[0], s.utf8);
      const user = s.requireUser();
      // Bounded: LIST (SUBSCRIBED) and LSUB read the whole list.
      if (on && (await s.store.subscriptions(user)).length >= IMAP_LIMITS.maxSubscriptions) {
        throw no(`At most ${IMAP_LIMITS.maxSubscriptions} subscriptions`, 'LIMIT');
      }
      try {
        await s.store.subscribe(user, name, on);
      } catch (err) {
        storeFailure(err, name);
      }
      s.mailboxListChanged({ kind: on ? 'subscribe' : 'unsubscribe', name });
      return `OK ${on ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} completed`;
    },
  };
}

export const subscribe = subscription(true);
export const unsubscribe = subscription(false);
