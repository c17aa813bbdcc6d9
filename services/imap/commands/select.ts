// SELECT and EXAMINE (RFC 3501 sections 6.3.1-2), CLOSE (6.4.2) and UNSELECT (RFC 3691).
import { AUTHED, SELECTED, type ImapCommand, type ImapCommandContext } from '../command-spec.js';
import type { ImapSession } from '../imap-session.js';
import { SelectedMailbox, SYSTEM_FLAGS } from '../selected-mailbox.js';
import type { ImapFolder } from '../store-port.js';
import { mailbox, storeFailure } from './args.js';

async function open(s: ImapSession, cmd: ImapCommandContext, readOnly: boolean): Promise<string> {
  // A failed SELECT leaves no mailbox selected (section 6.3.1).
  s.select(undefined);
  const name = mailbox(cmd.args[0]);
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
    `* ${readOnly ? folder.countRecent() : view.recent.size} RECENT`,
  ];
  if (firstUnseen >= 0) lines.push(`* OK [UNSEEN ${firstUnseen + 1}] First unseen`);
  lines.push(`* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`, `* OK [UIDNEXT ${view.uidNextAtSelect}] Predicted next UID`);
  s.sendLines(lines);
  return `OK [${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${cmd.name} completed`;
}

export const select: ImapCommand = { name: 'SELECT', states: AUTHED, minArgs: 1, maxArgs: 1, expungeAfter: true, handler: (s, c) => open(s, c, false) };
export const examine: ImapCommand = { name: 'EXAMINE', states: AUTHED, minArgs: 1, maxArgs: 1, expungeAfter: true, handler: (s, c) => open(s, c, true) };

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
