// APPEND (RFC 3501 section 6.3.11) with APPENDUID (UIDPLUS, RFC 4315). The literal's size was already
// checked against APPENDLIMIT (RFC 7889) by the command reader before the client sent it.
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import type { ImapFolder } from '../store-port.js';
import { flagList, mailbox, storeFailure } from './args.js';
import { storeErrorCode } from '../store-port.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** date-time (section 9): "17-Jul-1996 02:44:25 -0700"; the day may be space-padded. */
export function parseDateTime(s: string): number | undefined {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const mon = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase());
  if (mon < 0) return undefined;
  const offset = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  const t = Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000;
  return Number.isNaN(t) ? undefined : t;
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

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
        date = parseDateTime(a.v.toString('latin1'));
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
