// Argument helpers shared by the command modules: typed reads of parsed tokens with BAD on misuse.
import type { Token } from '../command-parser.js';
import { bad, no } from '../imap-errors.js';
import { mailboxFromWire } from '../mutf7.js';
import { parseSequenceSet, type SequenceSet } from '../sequence-set.js';
import { storeErrorCode } from '../store-port.js';
import { savedRef } from './searchres.js';
import { checkMailboxChars, isValidUtf8 } from '../utf8.js';

export function astring(tok: Token | undefined, what: string): string {
  if (!tok || tok.t === 'list') throw bad(`${what} expected`);
  if (tok.t === 'string' && tok.binary) throw bad(`${what}: a literal8 (~{n}) is only allowed for APPEND data (RFC 3516)`);
  return tok.t === 'atom' ? tok.v : tok.v.toString('utf8');
}

export function atom(tok: Token | undefined, what: string): string {
  if (!tok || tok.t !== 'atom') throw bad(`${what} expected`);
  return tok.v;
}

/**
 * A mailbox name: modified UTF-7 decoded (not once the session enabled UTF-8: RFC 6855 section 3,
 * RFC 9051 section 5.1), INBOX case-insensitive (RFC 3501 section 5.1), 8-bit octets only as
 * well-formed UTF-8.
 */
export function mailbox(tok: Token | undefined, utf8 = false): string {
  if (tok?.t === 'string' && !isValidUtf8(tok.v)) throw bad('mailbox name: invalid UTF-8 (RFC 3629)');
  const raw = mailboxFromWire(astring(tok, 'mailbox name'), utf8);
  if (raw.length > 1000) throw bad('mailbox name too long');
  checkMailboxChars(raw);
  if (raw.toUpperCase() === 'INBOX') return 'INBOX';
  const m = /^inbox([./])(.*)$/i.exec(raw);
  return m ? `INBOX${m[1]}${m[2]}` : raw;
}

export function sequenceSet(tok: Token | undefined): SequenceSet {
  // SEARCHRES (RFC 5182): "$" is the saved search result, resolved against the view (searchres.ts).
  if (tok?.t === 'atom' && tok.v === '$') return savedRef();
  const set = tok && tok.t === 'atom' ? parseSequenceSet(tok.v) : undefined;
  if (!set) throw bad('invalid sequence set');
  return set;
}

/** Flags from "(\Seen foo)" or "\Seen foo" (STORE allows both). \Recent cannot be set. */
export function flagList(toks: Token[]): string[] {
  const items = toks.length === 1 && toks[0].t === 'list' ? toks[0].v : toks;
  const out: string[] = [];
  for (const t of items) {
    if (t.t !== 'atom') throw bad('flags are atoms');
    const f = normaliseFlag(t.v);
    if (f === '\\Recent') continue;
    if (!out.includes(f)) out.push(f);
  }
  return out;
}

const SYSTEM = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft', '\\Recent'];

export function normaliseFlag(f: string): string {
  if (f.startsWith('\\')) {
    const sys = SYSTEM.find((s) => s.toLowerCase() === f.toLowerCase());
    if (!sys) throw bad(`unknown system flag ${f.slice(0, 30)}`);
    return sys;
  }
  if (!/^[\x21-\x7e]+$/.test(f) || /[(){%*"\\\]]/.test(f) || f.length > 100) throw bad(`invalid keyword ${f.slice(0, 30)}`);
  return f;
}

/** Maps a store error to an IMAP NO with the RFC 5530 response code. */
export function storeFailure(err: unknown, name?: string): never {
  const code = storeErrorCode(err);
  switch (code) {
    case 'NO_SUCH_FOLDER':
      throw no(`Mailbox ${name ?? ''} does not exist`.replace('  ', ' '), 'NONEXISTENT', 'NONEXISTENT');
    case 'FOLDER_EXISTS':
      throw no(`Mailbox ${name ?? ''} already exists`.replace('  ', ' '), 'ALREADYEXISTS', 'ALREADY_EXISTS');
    case 'INVALID_NAME':
      throw no(`Invalid mailbox name ${name ?? ''}`.trim(), 'CANNOT', 'CANNOT');
    case 'CANNOT_DELETE_INBOX':
      throw no('INBOX cannot be deleted', 'CANNOT', 'CANNOT');
    case 'TOO_MANY_KEYWORDS':
      throw no('Too many keywords in this mailbox', 'LIMIT', 'LIMIT');
    case 'NO_SUCH_MESSAGE':
      throw no('Message no longer exists', 'EXPUNGEISSUED');
    case 'OVER_QUOTA':
      // RFC 9208 section 4.3 (the code of RFC 5530): nothing was stored.
      throw no('Quota exceeded: the mailbox is full (GETQUOTAROOT shows the usage)', 'OVERQUOTA');
    default:
      throw err;
  }
}
