// The IMAP command grammar (RFC 3501 section 9) over one complete command: the line(s) as received
// with their literals in place ("{n}" CRLF n-octets). The reader (command-reader.ts) decides where a
// command ends; this parser never sees partial input, so any chunking of the wire parses the same.
// It never throws anything but ParseError.
import { IMAP_LIMITS } from './limits.js';

/** `binary`: a literal8 (`~{n}`, RFC 3516 section 4.1), which may hold NUL octets: only APPEND takes it. */
export type Token = { t: 'atom'; v: string } | { t: 'string'; v: Buffer; literal: boolean; binary?: true } | { t: 'list'; v: Token[] };

export interface ParsedCommand {
  tag: string;
  /** Upper-case command name; 'UID FETCH' for UID commands. */
  name: string;
  args: Token[];
}

export class ParseError extends Error {
  constructor(
    message: string,
    /** The tag, when it could be read (the BAD response is then tagged). */
    readonly tag?: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

const SP = 0x20;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const TILDE = 0x7e;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LT = 0x3c;
const GT = 0x3e;
const CR = 0x0d;
const LF = 0x0a;

/** RFC 3501 tag: ASTRING-CHAR except "+"; ATOM-CHAR excludes atom-specials. */
function isTagChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== LPAREN && c !== RPAREN && c !== LBRACE && c !== DQUOTE && c !== BACKSLASH && c !== 0x25 && c !== 0x2a && c !== 0x2b;
}

/**
 * Atom characters accepted in arguments. Wider than ATOM-CHAR on purpose: flags ("\Seen"), LIST
 * wildcards ("%", "*"), sequence sets ("1:*") and resp-specials ("]") all travel as atoms.
 */
function isArgAtomChar(c: number): boolean {
  // 8-bit octets are not ATOM-CHARs, but clients (imaplib, some MUAs) send UTF-8 search strings
  // unquoted; accepting them costs nothing and they decode as UTF-8.
  if (c >= 0x80) return true;
  return c > 0x20 && c < 0x7f && c !== LPAREN && c !== RPAREN && c !== LBRACE && c !== DQUOTE;
}

class Cursor {
  pos = 0;
  tokens = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  peek(): number {
    return this.buf[this.pos] ?? -1;
  }
}

export function parseCommand(buf: Buffer): ParsedCommand {
  const c = new Cursor(buf);
  const tagStart = c.pos;
  while (!c.done && isTagChar(c.peek())) c.pos++;
  if (c.pos === tagStart) throw new ParseError('a command starts with a tag');
  const tag = buf.toString('latin1', tagStart, c.pos);
  if (c.peek() !== SP) throw new ParseError(c.done ? 'missing command name' : 'invalid character in tag', c.done ? tag : undefined);
  c.pos++;
  const nameStart = c.pos;
  while (!c.done && isTagChar(c.peek())) c.pos++;
  if (c.pos === nameStart) throw new ParseError('missing command name', tag);
  let name = buf.toString('latin1', nameStart, c.pos).toUpperCase();
  if (name === 'UID') {
    if (c.peek() !== SP) throw new ParseError('UID needs a command', tag);
    c.pos++;
    const s = c.pos;
    while (!c.done && isTagChar(c.peek())) c.pos++;
    if (c.pos === s) throw new ParseError('UID needs a command', tag);
    name = `UID ${buf.toString('latin1', s, c.pos).toUpperCase()}`;
  }
  let args: Token[];
  try {
    args = parseSequence(c, 0, false);
  } catch (err) {
    if (err instanceof ParseError) throw new ParseError(err.message, tag);
    throw err;
  }
  return { tag, name, args };
}

/** Space-separated tokens until end of input (top level) or ")" (inside a list). */
function parseSequence(c: Cursor, depth: number, inList: boolean): Token[] {
  const out: Token[] = [];
  for (;;) {
    if (c.done) {
      if (inList) throw new ParseError('unterminated list');
      return out;
    }
    const ch = c.peek();
    if (inList && ch === RPAREN) {
      c.pos++;
      return out;
    }
    if (out.length > 0 || !inList) {
      // Tokens are separated by exactly one SP (top level: the SP after the command name).
      if (ch !== SP) throw new ParseError(inList ? 'expected SP or ")" in list' : 'expected SP between arguments');
      c.pos++;
      if (inList && c.peek() === RPAREN) throw new ParseError('unexpected SP before ")"');
      if (c.done) throw new ParseError('trailing space');
    }
    out.push(parseToken(c, depth));
    if (++c.tokens > IMAP_LIMITS.maxTokens) throw new ParseError('too many arguments');
  }
}

function parseToken(c: Cursor, depth: number): Token {
  const ch = c.peek();
  if (ch === LPAREN) {
    if (depth >= IMAP_LIMITS.maxListDepth) throw new ParseError('lists nested too deeply');
    c.pos++;
    return { t: 'list', v: parseSequence(c, depth + 1, true) };
  }
  if (ch === DQUOTE) return parseQuoted(c);
  if (ch === LBRACE) return parseLiteral(c);
  if (ch === TILDE && c.buf[c.pos + 1] === LBRACE) {
    c.pos++;
    return { ...parseLiteral(c), binary: true };
  }
  if (ch === RPAREN) throw new ParseError('unexpected ")"');
  return parseAtom(c);
}

function parseQuoted(c: Cursor): Token {
  c.pos++;
  const parts: number[] = [];
  for (;;) {
    if (c.done) throw new ParseError('unterminated quoted string');
    const ch = c.buf[c.pos++];
    if (ch === DQUOTE) break;
    if (ch === CR || ch === LF || ch === 0) throw new ParseError('CR, LF or NUL in a quoted string');
    if (ch === BACKSLASH) {
      const next = c.buf[c.pos++];
      if (next !== DQUOTE && next !== BACKSLASH) throw new ParseError('only \\" and \\\\ may be escaped in a quoted string');
      parts.push(next);
    } else parts.push(ch);
  }
  return { t: 'string', v: Buffer.from(parts), literal: false };
}

function parseLiteral(c: Cursor): { t: 'string'; v: Buffer; literal: boolean } {
  const start = c.pos + 1;
  let i = start;
  while (i < c.buf.length && c.buf[i] >= 0x30 && c.buf[i] <= 0x39) i++;
  if (i === start || i - start > 10) throw new ParseError('bad literal length');
  const n = Number(c.buf.toString('latin1', start, i));
  if (c.buf[i] === 0x2b) i++;
  if (c.buf[i] !== 0x7d || c.buf[i + 1] !== CR || c.buf[i + 2] !== LF) throw new ParseError('a literal is {n} followed by CRLF');
  i += 3;
  if (i + n > c.buf.length) throw new ParseError('literal shorter than announced');
  c.pos = i + n;
  return { t: 'string', v: c.buf.subarray(i, i + n), literal: true };
}

function parseAtom(c: Cursor): Token {
  const start = c.pos;
  while (!c.done) {
    const ch = c.peek();
    if (ch === LBRACKET && takesSection(c.buf, start, c.pos)) {
      // A fetch section, "BODY[HEADER.FIELDS (From To)]": spaces and lists inside brackets. Elsewhere
      // "[" is an ordinary ATOM-CHAR (a mailbox may be named "a[b": RFC 3501 section 9).
      skipSection(c);
      if (c.peek() === LT) {
        while (!c.done && c.peek() !== GT) {
          if (c.peek() === SP || c.peek() === CR) throw new ParseError('unterminated partial <...>');
          c.pos++;
        }
        if (c.done) throw new ParseError('unterminated partial <...>');
        c.pos++;
      }
      continue;
    }
    if (!isArgAtomChar(ch)) break;
    c.pos++;
  }
  if (c.pos === start) throw new ParseError(c.peek() < 0x20 || c.peek() >= 0x7f ? 'invalid character' : 'expected an argument');
  let eightBit = false;
  for (let i = start; i < c.pos; i++) if (c.buf[i] >= 0x80) eightBit = true;
  return { t: 'atom', v: c.buf.toString(eightBit ? 'utf8' : 'latin1', start, c.pos) };
}

/** FETCH items followed by a section: BODY, BODY.PEEK, BINARY, BINARY.PEEK, BINARY.SIZE (RFC 3516). */
const SECTION_ITEMS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

function takesSection(buf: Buffer, start: number, end: number): boolean {
  return end - start <= 11 && SECTION_ITEMS.has(buf.toString('latin1', start, end).toUpperCase());
}

function skipSection(c: Cursor): void {
  c.pos++;
  let depth = 0;
  while (!c.done) {
    const ch = c.buf[c.pos];
    if (ch === CR || ch === LF || ch === 0) break;
    if (ch === DQUOTE) {
      c.pos++;
      while (!c.done && c.peek() !== DQUOTE) {
        if (c.peek() === BACKSLASH) c.pos++;
        c.pos++;
      }
      if (c.done) break;
    } else if (ch === LPAREN) depth++;
    else if (ch === RPAREN) depth--;
    else if (ch === RBRACKET && depth === 0) {
      c.pos++;
      return;
    }
    c.pos++;
  }
  throw new ParseError('unterminated section [...]');
}

// ---- typed argument helpers (used by the registry's argument schemas) ----

export function tokenText(tok: Token): string {
  if (tok.t === 'atom') return tok.v;
  if (tok.t === 'string') return tok.v.toString('utf8');
  throw new ParseError('expected a string, got a list');
}

/** astring: atom or string (RFC 3501 section 9). */
export function isAstring(tok: Token): boolean {
  return tok.t === 'string' || (tok.t === 'atom' && /^[\x21-\x7e]+$/.test(tok.v) && !/[%*]/.test(tok.v));
}
