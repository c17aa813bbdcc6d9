// NOTIFY (RFC 5465): NOTIFY SET [STATUS] event-groups replaces the session's registration, NOTIFY NONE
// ends it. The grammar and the registration are in notify.ts; the delivery in imap-session.ts.
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { NotifyRegistration, parseNotify } from '../notify.js';
import { mailbox } from './args.js';

export const notify: ImapCommand = {
  name: 'NOTIFY',
  states: AUTHED,
  minArgs: 1,
  maxArgs: 64,
  expungeAfter: true,
  async handler(s, cmd) {
    const req = parseNotify(cmd.args, (t) => mailbox(t, s.utf8));
    if (req.kind === 'none') {
      s.setNotify(undefined);
      return 'OK NOTIFY completed';
    }
    const reg = new NotifyRegistration(s.notifyHost(), req.selected, req.groups, s.mailboxListHub);
    try {
      await reg.start();
    } catch (err) {
      reg.close();
      throw err;
    }
    if (reg.overflowed) {
      reg.close();
      return 'NO [NOTIFICATIONOVERFLOW] NOTIFY would watch too many mailboxes';
    }
    // Section 3.1: with STATUS, a STATUS response for every mailbox the groups name (not the selected one).
    if (req.status) {
      const lines = await reg.initialStatus();
      if (lines.length > 0) s.sendLines(lines);
    }
    s.setNotify(reg);
    return 'OK NOTIFY completed';
  },
};
