// APPEND (RFC 3501 section 6.3.11) with APPENDUID (UIDPLUS, RFC 4315). The literal's size was already
// checked against APPENDLIMIT (RFC 7889) by the command reader before the client sent it.
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import type { ImapFolder } from '../store-port.js';
import { flagList, mailbox, storeFailure } from './args.js';
import { storeErrorCode } from '../store-port.js';
import { parseImapDateTime } from '../../../core/mail-format/dates.js';

export const append: ImapCommand = {
  name: 'APPEND',
  states: AUTHED,
  minArgs: 2,
  maxArgs: 4,
  expungeAfter: true,
  async handler(s, cmd) {
    const args = cmd.args;
    const name = mailbox(args[0]);
    const msg = args[args.length - 1];
    if (msg.t !== 'string' || !msg.literal) throw bad('APPEND needs the message as a literal');
    let flags: string[] = [];
    let date: number | undefined;
    for (const a of args.slice(1, -1)) {
      if (a.t === 'list') flags = flagList([a]);
      else if (a.t === 'string') {
        date = parseImapDateTime(a.v.toString('latin1'));
        if (date === undefined) throw bad('invalid date-time');
      } else throw bad('APPEND: expected flags or a date-time');
    }
    if (msg.v.length === 0) throw no('Empty message');
    let folder: ImapFolder;
    try {
      folder = await s.store.folder(s.requireUser(), name);
    } catch (err) {
      if (storeErrorCode(err) === 'NO_SUCH_FOLDER') throw no(`Mailbox ${name} does not exist`, 'TRYCREATE');
      storeFailure(err, name);
    }
    let uid: number;
    try {
      // Copy: the literal is a view into the command buffer.
      uid = (await folder.append(Buffer.from(msg.v), flags, date, s)).uid;
    } catch (err) {
      storeFailure(err, name);
    }
    const uidValidity = folder.snapshot().uidValidity;
    return `OK [APPENDUID ${uidValidity} ${uid}] APPEND completed`;
  },
};
