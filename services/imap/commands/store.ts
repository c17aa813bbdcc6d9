// STORE and UID STORE (RFC 3501 sections 6.4.6, 6.4.8): FLAGS, +FLAGS, -FLAGS, each optionally
// .SILENT. The untagged FETCH responses show the flags after the change (with UID for UID STORE).
import { SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import type { ImapSession } from '../imap-session.js';
import { parseStoreModifiers } from '../condstore.js';
import { formatSet } from '../sequence-set.js';
import { flagList, sequenceSet, storeFailure } from './args.js';
import { resolveSet } from './fetch.js';

async function runStore(s: ImapSession, cmd: ImapCommandContext, byUid: boolean): Promise<string> {
  const view = s.selected!;
  const set = sequenceSet(cmd.args[0]);
  // RFC 7162 section 3.1.3: "(UNCHANGEDSINCE n)" before the item; a CONDSTORE enabling command.
  const conditional = cmd.args[1]?.t === 'list' ? parseStoreModifiers(cmd.args[1]) : undefined;
  const args = conditional ? cmd.args.slice(1) : cmd.args;
  const what = args[1]?.t === 'atom' ? args[1].v.toUpperCase() : '';
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(what);
  if (!m) throw bad('STORE needs FLAGS, +FLAGS or -FLAGS (optionally .SILENT)');
  if (args.length < 3) throw bad('STORE needs flags');
  if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  const flags = flagList(args.slice(2));
  const op = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  if (conditional) s.condstoreOn();
  const indexes = resolveSet(view, set, byUid);
  if (indexes.length === 0) return `OK ${cmd.name} completed`;
  const uids = indexes.map((i) => view.uids[i]);
  let messages;
  let modified: readonly number[];
  try {
    ({ messages, modified } = await view.folder.updateFlags(uids, op, flags, s, conditional?.unchangedSince));
  } catch (err) {
    storeFailure(err);
  }
  const lines: string[] = [];
  // Keywords this STORE defined are announced before a FETCH uses them (RFC 3501 section 7.2.6).
  view.flagsLines(lines);
  for (const msg of messages) {
    const seq = view.update(msg);
    if (seq === 0) continue;
    // .SILENT still reports the new MODSEQ of a conditional STORE (section 3.1.3).
    if (!m[2]) lines.push(`* ${seq} FETCH (${s.changeItems(msg, byUid)})`);
    else if (conditional) lines.push(`* ${seq} FETCH (${byUid || s.condstore ? `UID ${msg.uid} ` : ''}MODSEQ (${msg.modseq}))`);
  }
  s.sendLines(lines);
  if (modified.length > 0) {
    const failed = byUid ? modified : modified.map((u) => view.seqOf(u)).filter((n) => n > 0);
    return `OK [MODIFIED ${formatSet([...failed].sort((a, b) => a - b))}] Conditional ${cmd.name} completed`;
  }
  return `OK ${cmd.name} completed`;
}

export const store: ImapCommand = { name: 'STORE', states: SELECTED, minArgs: 3, maxArgs: 50, expungeAfter: false, handler: (s, c) => runStore(s, c, false) };
export const uidStore: ImapCommand = {
  name: 'UID STORE',
  states: SELECTED,
  minArgs: 3,
  maxArgs: 50,
  expungeAfter: true,
  handler: (s, c) => runStore(s, c, true),
};
