// EXPUNGE (RFC 3501 section 6.4.3) and UID EXPUNGE (RFC 4315 section 2.1): removes \Deleted messages
// (UID EXPUNGE: only those in the set) and reports each removal with the sequence number it had.
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { uidIndexes } from '../sequence-set.js';
import { sequenceSet } from './args.js';
import { isSavedRef, savedIndexes } from './searchres.js';

async function runExpunge(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const view = s.selected!;
  if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  // Report what others changed first, so the numbers below are the client's current ones.
  s.reportChanges(true);
  let candidates = view.messages.filter((m) => m.flags.includes('\\Deleted'));
  if (byUid) {
    const set = sequenceSet(cmd.args[0]);
    const chosen = new Set((isSavedRef(set) ? savedIndexes(view) : uidIndexes(set, view.uids)).map((i) => view.uids[i]));
    candidates = candidates.filter((m) => chosen.has(m.uid));
  }
  if (candidates.length > 0) {
    // Only messages still \Deleted in the store: another session may have cleared the flag.
    const removed = await view.folder.expunge(
      candidates.map((m) => m.uid),
      s,
      true,
    );
    s.contextExpunging(removed);
    s.sendLines(view.removeOwn(removed, s.qresync));
  }
  return `OK ${cmd.name} completed`;
}

export const expunge: ImapCommand = {
  name: 'EXPUNGE',
  states: SELECTED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: true,
  handler: (s, c) => runExpunge(s, c, false),
};
export const uidExpunge: ImapCommand = {
  name: 'UID EXPUNGE',
  states: SELECTED,
  minArgs: 1,
  maxArgs: 1,
  expungeAfter: true,
  handler: (s, c) => runExpunge(s, c, true),
};
