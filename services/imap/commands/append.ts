// APPEND (RFC 3501 section 6.3.11) with APPENDUID (UIDPLUS, RFC 4315), MULTIAPPEND (RFC 3502: several
// messages in one command, all or nothing) and literal8 message data (BINARY, RFC 3516 section 4.3).
// Each literal's size was already checked against APPENDLIMIT (RFC 7889) by the command reader before
// the client sent it, and the whole command against APPENDLIMIT plus maxCommandOctets; the number of
// messages is bounded by the reader's maxLiterals. CATENATE (RFC 4469) builds a message from literal
// TEXT parts and IMAP URLs to the user's own messages (imap-url.ts), at most APPENDLIMIT octets; a URL
// that cannot be used is NO [BADURL url] and nothing is appended.
import type { Token } from '../command-parser.js';
import { AUTHED, type ImapCommand } from '../command-spec.js';
import { bad, no } from '../imap-errors.js';
import { encodeBinaryParts } from '../append-binary.js';
import { parseSection, partialOf, sectionOf } from '../fetch-body-section.js';
import type { ImapSession } from '../imap-session.js';
import { parseImapUrl } from '../imap-url.js';
import { IMAP_LIMITS } from '../limits.js';
import { parseMime } from '../mime.js';
import { formatSet } from '../sequence-set.js';
import type { ImapFolder } from '../store-port.js';
import { flagList, mailbox, storeFailure } from './args.js';
import { storeErrorCode } from '../store-port.js';
import { parseImapDateTime } from '../../../core/mail-format/dates.js';

/** One piece of a CATENATE message (RFC 4469 section 5): literal text or an IMAP URL to copy from. */
export type CatPart = { text: Buffer; binary: boolean } | { url: string };

export interface AppendMessage {
  /** Sent as `UTF8 (literal8)` (RFC 6855 section 4): its header may hold UTF-8. */
  utf8?: boolean;
  flags: string[];
  date: number | undefined;
  /** The message; for CATENATE the concatenation of `parts` once the URLs are read. */
  data: Buffer;
  parts?: CatPart[];
}

/**
 * `UTF8 (literal8)` (RFC 6855 section 4, utf8-literal): the literal8, once the session enabled
 * UTF8=ACCEPT; before that BAD (the client has not said it speaks UTF-8).
 */
function utf8Literal(tok: Token | undefined, utf8: boolean): { text: Buffer; binary: boolean } {
  if (!utf8) throw bad('APPEND UTF8 (...) needs ENABLE UTF8=ACCEPT first (RFC 6855 section 4)');
  const lit = tok?.t === 'list' && tok.v.length === 1 ? tok.v[0] : undefined;
  if (lit?.t !== 'string' || !lit.literal || !lit.binary) throw bad('UTF8 takes one literal8 in parentheses: UTF8 (~{n}...) (RFC 6855 section 4)');
  return { text: lit.v, binary: true };
}

function catParts(tok: Token | undefined, utf8: boolean): CatPart[] {
  if (tok?.t !== 'list' || tok.v.length === 0 || tok.v.length % 2 !== 0) throw bad('CATENATE takes a list of TEXT literal / URL url pairs');
  if (tok.v.length / 2 > IMAP_LIMITS.maxCatenateParts) throw bad(`at most ${IMAP_LIMITS.maxCatenateParts} CATENATE parts`);
  const out: CatPart[] = [];
  for (let i = 0; i < tok.v.length; i += 2) {
    const kind = tok.v[i];
    const value = tok.v[i + 1];
    const k = kind.t === 'atom' ? kind.v.toUpperCase() : '';
    if (k === 'TEXT' && value.t === 'string' && value.literal) out.push({ text: value.v, binary: value.binary === true });
    // RFC 6855 section 4: cat-part =/ utf8-literal. Its NUL-free octets are stored as they are.
    else if (k === 'UTF8') out.push({ ...utf8Literal(value, utf8), binary: false });
    else if (k === 'URL' && (value.t === 'string' || value.t === 'atom') && !(value.t === 'string' && value.binary)) {
      out.push({ url: value.t === 'atom' ? value.v : value.v.toString('latin1') });
    } else throw bad('CATENATE parts are TEXT literal, UTF8 (literal8) or URL url');
  }
  return out;
}

/**
 * The messages of `APPEND mailbox 1*(SP [flag-list] [SP date-time] SP (literal / literal8 / CATENATE
 * (...)))` (RFC 3502 section 6.3.11, RFC 4469 section 5). Throws BAD on anything else.
 */
export function parseAppendMessages(args: readonly Token[], utf8 = false): AppendMessage[] {
  const out: AppendMessage[] = [];
  let flags: string[] | undefined;
  let date: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.t === 'list') {
      if (flags !== undefined || date !== undefined) throw bad('APPEND: flags come before the date-time, once per message');
      flags = flagList([a]);
    } else if (a.t === 'string' && !a.literal) {
      if (date !== undefined) throw bad('APPEND: one date-time per message');
      date = parseImapDateTime(a.v.toString('latin1'));
      if (date === undefined) throw bad('invalid date-time');
    } else if (a.t === 'string' || (a.t === 'atom' && (a.v.toUpperCase() === 'CATENATE' || a.v.toUpperCase() === 'UTF8'))) {
      if (a.t === 'atom' && a.v.toUpperCase() === 'UTF8') {
        const lit = utf8Literal(args[++i], utf8);
        if (lit.text.includes(0)) throw bad('UTF8 message data may not hold NUL octets');
        out.push({ flags: flags ?? [], date, data: lit.text, utf8: true });
      } else if (a.t === 'string') {
        // A literal8 may hold NUL octets: those parts are stored base64-encoded (RFC 3516 section 4.4).
        out.push({ flags: flags ?? [], date, data: a.binary ? encodeBinaryParts(a.v) : a.v });
      } else out.push({ flags: flags ?? [], date, data: EMPTY, parts: catParts(args[++i], utf8) });
      flags = undefined;
      date = undefined;
    } else throw bad('APPEND: expected flags, a date-time or the message as a literal');
  }
  if (flags !== undefined || date !== undefined || out.length === 0) throw bad('APPEND needs the message as a literal');
  return out;
}

const EMPTY = Buffer.alloc(0);

/** Whether the header section (up to the first empty line) holds an octet with the high bit set. */
export function eightBitHeader(data: Buffer): boolean {
  const crlf = data.indexOf('\r\n\r\n');
  const lf = data.indexOf('\n\n');
  const end = crlf < 0 ? (lf < 0 ? data.length : lf) : lf < 0 ? crlf : Math.min(crlf, lf);
  for (let i = 0; i < end; i++) if (data[i] >= 0x80) return true;
  return false;
}

/** BADURL (RFC 4469 section 6): the URL as sent, without what cannot stand in a response code. */
function badUrl(url: string, why: string): Error {
  return no(why, `BADURL ${url.replace(/[\r\n\]\0]/g, '').slice(0, 200)}`);
}

/** Reads what a CATENATE URL points at: a message or a section of one, in the user's own mailboxes. */
async function readUrl(s: ImapSession, url: string): Promise<Buffer> {
  const u = parseImapUrl(url, s.requireUser());
  if (!u) throw badUrl(url, 'Not an IMAP URL to one of your own messages');
  const spec = parseSection(u.section);
  if (!spec) throw badUrl(url, 'Invalid section in the URL');
  let folder: ImapFolder;
  try {
    folder = await s.store.folder(s.requireUser(), mailbox({ t: 'atom', v: u.mailbox }));
  } catch {
    throw badUrl(url, 'No such mailbox');
  }
  const snap = folder.snapshot();
  if (u.uidValidity !== undefined && u.uidValidity !== snap.uidValidity) throw badUrl(url, 'UIDVALIDITY has changed');
  let raw: Buffer;
  try {
    raw = await folder.read(u.uid);
  } catch {
    throw badUrl(url, 'No such message');
  }
  const data = sectionOf(raw, () => parseMime(raw), spec);
  if (!data) throw badUrl(url, 'No such section');
  return u.partial ? partialOf(data, u.partial.offset, u.partial.length) : data;
}

/** The message a CATENATE builds, at most `limit` octets (NO [TOOBIG] past it). */
async function catenate(s: ImapSession, parts: readonly CatPart[], limit: number): Promise<Buffer> {
  const out: Buffer[] = [];
  let size = 0;
  let binary = false;
  for (const p of parts) {
    const piece = 'text' in p ? p.text : await readUrl(s, p.url);
    if ('text' in p && p.binary) binary = true;
    size += piece.length;
    if (size > limit) throw no(`The message would be larger than ${limit} octets`, 'TOOBIG');
    out.push(piece);
  }
  const data = Buffer.concat(out);
  return binary ? encodeBinaryParts(data) : data;
}

export const append: ImapCommand = {
  name: 'APPEND',
  states: AUTHED,
  minArgs: 2,
  maxArgs: 1 + 3 * 64,
  expungeAfter: true,
  async handler(s, cmd) {
    const name = mailbox(cmd.args[0], s.utf8);
    const messages = parseAppendMessages(cmd.args.slice(1), s.utf8);
    if (messages.some((m) => !m.parts && m.data.length === 0)) throw no('Empty message');
    let folder: ImapFolder;
    try {
      folder = await s.store.folder(s.requireUser(), name);
    } catch (err) {
      if (storeErrorCode(err) === 'NO_SUCH_FOLDER') throw no(`Mailbox ${name} does not exist`, 'TRYCREATE');
      storeFailure(err, name);
    }
    // CATENATE: the URLs are read once the destination is known to exist ([TRYCREATE] comes first).
    let total = 0;
    for (const m of messages) {
      if (m.parts) m.data = await catenate(s, m.parts, s.shared.config.appendLimit);
      if (m.data.length === 0) throw no('Empty message');
      // RFC 6855 section 4: without ENABLE UTF8=ACCEPT, 8-bit octets in the header fields are refused.
      if (!s.utf8 && eightBitHeader(m.data)) throw no('8-bit characters in the message header need ENABLE UTF8=ACCEPT and APPEND UTF8 (RFC 6855 section 4)');
      total += m.data.length;
      if (total > s.shared.config.appendLimit + IMAP_LIMITS.maxCommandOctets) throw no('The messages are too large together', 'TOOBIG');
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
