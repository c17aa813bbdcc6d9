// QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA. Every user has one quota root, "" (the whole account:
// every folder counts, each copy of a message too, as in Dovecot), with the STORAGE (KiB, rounded up,
// section 5.1) and MESSAGE (section 5.2) resources of the mail store's per-user limits
// (mailStore.quota.maxBytes / maxMessages). SETQUOTA is not offered (no QUOTASET): the limits are the
// instructor's configuration, not the student's.
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { str } from '../imap-writer.js';
import { astring, mailbox, storeFailure } from './args.js';

/** The root's QUOTA response, or undefined when no resource has a limit (a quota-list is never empty). */
async function quotaLine(s: ImapSession): Promise<string | undefined> {
  const q = await s.store.quota(s.requireUser());
  const res: string[] = [];
  if (q.bytes.limit !== undefined) res.push(`STORAGE ${Math.ceil(q.bytes.used / 1024)} ${Math.floor(q.bytes.limit / 1024)}`);
  if (q.messages.limit !== undefined) res.push(`MESSAGE ${q.messages.used} ${q.messages.limit}`);
  return res.length > 0 ? `* QUOTA "" (${res.join(' ')})` : undefined;
}

export const getQuotaRoot: ImapCommand = {
  name: 'GETQUOTAROOT',
  states: AUTHED,
  minArgs: 1,
  maxArgs: 1,
  expungeAfter: true,
  async handler(s, cmd) {
    const name = mailbox(cmd.args[0], s.utf8);
    try {
      await s.store.status(s.requireUser(), name);
    } catch (err) {
      storeFailure(err, name);
    }
    const line = await quotaLine(s);
    // Section 4.1.2: the mailbox, then its roots (none when nothing is limited), then each root's QUOTA.
    s.sendLines([`* QUOTAROOT ${s.mailboxOut(name)}${line ? ' ""' : ''}`, ...(line ? [line] : [])]);
    return 'OK GETQUOTAROOT completed';
  },
};

export const getQuota: ImapCommand = {
  name: 'GETQUOTA',
  states: AUTHED,
  minArgs: 1,
  maxArgs: 1,
  expungeAfter: true,
  async handler(s, cmd) {
    const root = astring(cmd.args[0], 'quota root');
    const line = root === '' ? await quotaLine(s) : undefined;
    if (!line) throw no(`No quota root ${str(root.slice(0, 100))}`, 'NONEXISTENT');
    s.sendLines([line]);
    return 'OK GETQUOTA completed';
  },
};
