// COPY, MOVE (RFC 6851) and their UID forms, with COPYUID (UIDPLUS, RFC 4315 section 3).
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { formatSet } from '../sequence-set.js';
import { storeErrorCode, type ImapFolder } from '../store-port.js';
import { mailbox, sequenceSet, storeFailure } from './args.js';
import { resolveSet } from './fetch.js';

async function runCopy(s: ImapSession, cmd: ImapCommandContext, byUid: boolean, move: boolean): Promise<string> {
  const view = s.selected!;
  const set = sequenceSet(cmd.args[0]);
  const name = mailbox(cmd.args[1], s.utf8);
  if (move && view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  const indexes = resolveSet(view, set, byUid);
  let target: ImapFolder;
  try {
    target = await s.store.folder(s.requireUser(), name);
  } catch (err) {
    if (storeErrorCode(err) === 'NO_SUCH_FOLDER') throw no(`Mailbox ${name} does not exist`, 'TRYCREATE');
    storeFailure(err, name);
  }
  if (indexes.length === 0) return `OK ${cmd.name} completed (nothing to do)`;
  const uids = indexes.map((i) => view.uids[i]);
  let pairs: Array<[number, number]>;
  try {
    pairs = await target.copyFrom(view.folder, uids, s);
  } catch (err) {
    storeFailure(err, name);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const copyUid = pairs.length > 0 ? `COPYUID ${target.snapshot().uidValidity} ${pairs.map((p) => p[0]).join(',')} ${pairs.map((p) => p[1]).join(',')}` : '';
  if (!move) return `OK ${copyUid ? `[${copyUid}] ` : ''}${cmd.name} completed`;
  // RFC 6851 section 4.3: COPYUID goes in an untagged OK before the EXPUNGE responses.
  if (copyUid) s.send(`* OK [${copyUid}] Moved`);
  const removed = await view.folder.expunge(
    pairs.map((p) => p[0]),
    s,
  );
  s.contextExpunging(removed);
  s.sendLines(view.removeOwn(removed, s.qresync));
  return `OK ${cmd.name} completed`;
}

export const copy: ImapCommand = { name: 'COPY', states: SELECTED, minArgs: 2, maxArgs: 2, expungeAfter: true, handler: (s, c) => runCopy(s, c, false, false) };
export const uidCopy: ImapCommand = {
  name: 'UID COPY',
  states: SELECTED,
  minArgs: 2,
  maxArgs: 2,
  expungeAfter: true,
  handler: (s, c) => runCopy(s, c, true, false),
};
export const move: ImapCommand = { name: 'MOVE', states: SELECTED, minArgs: 2, maxArgs: 2, expungeAfter: true, handler: (s, c) => runCopy(s, c, false, true) };
export const uidMove: ImapCommand = {
  name: 'UID MOVE',
  states: SELECTED,
  minArgs: 2,
  maxArgs: 2,
  expungeAfter: true,
  handler: (s, c) => runCopy(s, c, true, true),
};

export { formatSet };
