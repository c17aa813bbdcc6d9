// APPEND (RFC 3501 section 6.3.11) with APPENDUID (UIDPLUS, RFC 4315), MULTIAPPEND (RFC 3502: several
// messages in one command, all or nothing) and literal8 message data (BINARY, RFC 3516 section 4.3).
// Each literal's size was already checked against APPENDLIMIT (RFC 7889) by the command reader before
// the client sent it, and the whole command against APPENDLIMIT plus maxCommandOctets; the number of
// messages is bounded by the reader's maxLiterals.
import type { Token } from '../command-parser.js';
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import { encodeBinaryParts } from '../append-binary.js';
import { formatSet } from '../sequence-set.js';
import type { ImapFolder } from '../store-port.js';
import { flagList, mailbox, storeFailure } from './args.js';
import { storeErrorCode } from '../store-port.js';
import { parseImapDateTime } from '../../../core/mail-format/dates.js';

export interface AppendMessage {
  flags: string[];
  date: number | undefined;
  data: Buffer;
}

/**
 * The messages of `APPEND mailbox 1*(SP [flag-list] [SP date-time] SP (literal / literal8))`
 * (RFC 3502 section 6.3.11; ABNF in its section 7). Throws BAD on anything else.
 */
export function parseAppendMessages(args: readonly Token[]): AppendMessage[] {
  const out: AppendMessage[] = [];
  let flags: string[] | undefined;
  let date: number | undefined;
  for (const a of args) {
    if (a.t === 'list') {
      if (flags !== undefined || date !== undefined) throw bad('APPEND: flags come before the date-time, once per message');
      flags = flagList([a]);
    } else if (a.t === 'string' && !a.literal) {
      if (date !== undefined) throw bad('APPEND: one date-time per message');
      date = parseImapDateTime(a.v.toString('latin1'));
      if (date === undefined) throw bad('invalid date-time');
    } else if (a.t === 'string') {
      // A literal8 may hold NUL octets: those parts are stored base64-encoded (RFC 3516 section 4.4).
      out.push({ flags: flags ?? [], date, data: a.binary ? encodeBinaryParts(a.v) : a.v });
      flags = undefined;
      date = undefined;
    } else throw bad('APPEND: expected flags, a date-time or the message as a literal');
  }
  if (flags !== undefined || date !== undefined || out.length === 0) throw bad('APPEND needs the message as a literal');
  return out;
}

export const append: ImapCommand = {
  name: 'APPEND',
  states: AUTHED,
  minArgs: 2,
  maxArgs: 1 + 3 * 64,
  expungeAfter: true,
  async handler(s, cmd) {
    const name = mailbox(cmd.args[0]);
    const messages = parseAppendMessages(cmd.args.slice(1));
    if (messages.some((m) => m.data.length === 0)) throw no('Empty message');
    let folder: ImapFolder;
    try {
      folder = await s.store.folder(s.requireUser(), name);
    } catch (err) {
      if (storeErrorCode(err) === 'NO_SUCH_FOLDER') throw no(`Mailbox ${name} does not exist`, 'TRYCREATE');
      storeFailure(err, name);
    }
    let uids: number[];
    try {
      // Copies: the literals are views into the command buffer.
      if (messages.length === 1) uids = [(await folder.append(Buffer.from(messages[0].data), messages[0].flags, messages[0].date, s)).uid];
      else
        uids = await folder.appendMany(
          messages.map((m) => ({ data: Buffer.from(m.data), flags: m.flags, ...(m.date !== undefined ? { internalDate: m.date } : {}) })),
          s,
        );
    } catch (err) {
      storeFailure(err, name);
    }
    const uidValidity = folder.snapshot().uidValidity;
    return `OK [APPENDUID ${uidValidity} ${formatSet(uids)}] APPEND completed`;
  },
};
