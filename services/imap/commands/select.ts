// SELECT and EXAMINE (RFC 3501 sections 6.3.1-2), CLOSE (6.4.2) and UNSELECT (RFC 3691).
import { AUTHED, SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import type { ImapSession } from '../imap-session.js';
import { SelectedMailbox, SYSTEM_FLAGS } from '../selected-mailbox.js';
import type { ImapFolder } from '../store-port.js';
import { parseSelectParams, type QresyncParams } from '../condstore.js';
import { bad } from '../imap-errors.js';
import { str } from '../imap-writer.js';
import { formatRanges, normalise, uidIndexes } from '../sequence-set.js';
import { mailbox, storeFailure } from './args.js';
import { vanishedSince } from './fetch.js';
import { writeFetchResponses } from '../fetch-response.js';

async function open(s: ImapSession, cmd: ImapCommandContext, readOnly: boolean): Promise<string> {
  // Parameters are checked before anything changes (RFC 7162 section 3.2.5): a BAD leaves the selection alone.
  const params = parseSelectParams(cmd.args[1]);
  if (params.qresync && !s.qresync) throw bad('QRESYNC parameter needs ENABLE QRESYNC first');
  // RFC 7162 section 3.2.11 (QRESYNC) and RFC 9051 section 6.3.2 (IMAP4rev2): the end of the
  // previous selection is announced.
  const closing = s.selected !== undefined && (s.qresync || s.rev2);
  // A failed SELECT leaves no mailbox selected (section 6.3.1).
  s.select(undefined);
  if (closing) s.send('* OK [CLOSED] Previous mailbox closed');
  if (params.condstore || params.qresync) s.enabled.add('CONDSTORE');
  const name = mailbox(cmd.args[0], s.utf8);
  let folder: ImapFolder;
  try {
    folder = await s.store.folder(s.requireUser(), name);
  } catch (err) {
    storeFailure(err, name);
  }
  const view = await SelectedMailbox.open(folder, readOnly, s);
  s.select(view);
  const keywords = folder.definedKeywords();
  view.keywordsReported();
  const flags = [SYSTEM_FLAGS, ...keywords].join(' ');
  const firstUnseen = view.messages.findIndex((m) => !m.flags.includes('\\Seen'));
  const lines = [
    `* FLAGS (${flags})`,
    readOnly ? '* OK [PERMANENTFLAGS ()] Read-only mailbox' : `* OK [PERMANENTFLAGS (${flags} \\*)] Flags permitted`,
    `* ${view.exists} EXISTS`,
  ];
  // IMAP4rev2 (RFC 9051 appendix E items 10-12): no RECENT and no UNSEEN code, and a LIST response.
  if (!s.rev2) lines.push(`* ${readOnly ? folder.countRecent() : view.recent.size} RECENT`);
  if (firstUnseen >= 0 && !s.rev2) lines.push(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  if (s.rev2) lines.push(await listLine(s, folder.name));
  lines.push(`* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`, `* OK [UIDNEXT ${view.uidNextAtSelect}] Predicted next UID`);
  // RFC 7162 section 3.1.2.1: every SELECT after a CONDSTORE enabling command (this one included).
  if (s.condstore) lines.push(`* OK [HIGHESTMODSEQ ${view.highestModseq}] Highest mailbox mod-sequence`);
  s.sendLines(lines);
  if (params.qresync && params.qresync.uidValidity === view.uidValidity) await resync(s, view, params.qresync);
  return `OK [${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${cmd.name} completed`;
}

/** RFC 9051 section 6.3.2: the selected mailbox's LIST response, with accurate attributes. */
async function listLine(s: ImapSession, name: string): Promise<string> {
  const entry = await s.store.attributes(s.requireUser(), name);
  const attrs = [entry.hasChildren ? '\\HasChildren' : '\\HasNoChildren'];
  if (entry.specialUse) attrs.push(entry.specialUse);
  return `* LIST (${attrs.join(' ')}) ${str(s.store.delimiter)} ${s.mailboxOut(name)}`;
}

/**
 * QRESYNC (RFC 7162 section 3.2.5.1): what changed since the client's mod-sequence, as
 * `UID FETCH known-uids (FLAGS) (CHANGEDSINCE modseq VANISHED)` would answer, with the seq-match
 * data narrowing the VANISHED (EARLIER) list when the expunge history does not reach back (3.2.5.2).
 */
async function resync(s: ImapSession, view: SelectedMailbox, q: QresyncParams): Promise<void> {
  const maxUid = view.uidNextAtSelect - 1;
  const known = q.knownUids ? normalise(q.knownUids, maxUid) : maxUid > 0 ? [[1, maxUid] as const] : [];
  let floor = 0;
  if (q.seqMatch) {
    // The highest pair that still matches: the client knows every expunge up to that UID.
    for (const [seq, uid] of q.seqMatch) {
      if (seq <= view.exists && view.uids[seq - 1] === uid) floor = uid;
      else break;
    }
  }
  const vanished = vanishedSince(view, q.modseq, known, floor);
  if (vanished.length > 0) s.send(`* VANISHED (EARLIER) ${formatRanges(vanished)}`);
  const candidates = q.knownUids ? uidIndexes(q.knownUids, view.uids) : view.messages.map((_, i) => i);
  const indexes = candidates.filter((i) => view.messages[i].modseq > q.modseq);
  await writeFetchResponses(s, view, indexes, [{ k: 'UID' }, { k: 'FLAGS' }, { k: 'MODSEQ' }], false);
}

export const select: ImapCommand = { name: 'SELECT', states: AUTHED, minArgs: 1, maxArgs: 2, expungeAfter: true, handler: (s, c) => open(s, c, false) };
export const examine: ImapCommand = { name: 'EXAMINE', states: AUTHED, minArgs: 1, maxArgs: 2, expungeAfter: true, handler: (s, c) => open(s, c, true) };

/** CLOSE expunges silently (no EXPUNGE responses) unless the mailbox is read-only. */
export const close: ImapCommand = {
  name: 'CLOSE',
  states: SELECTED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: false,
  async handler(s) {
    const view = s.selected!;
    if (!view.readOnly) {
      const deleted = view.messages.filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
      if (deleted.length > 0) await view.folder.expunge(deleted, s, true);
    }
    s.select(undefined);
    return 'OK CLOSE completed';
  },
};

export const unselect: ImapCommand = {
  name: 'UNSELECT',
  states: SELECTED,
  minArgs: 0,
  maxArgs: 0,
  expungeAfter: false,
  handler(s) {
    s.select(undefined);
    return 'OK UNSELECT completed';
  },
};
