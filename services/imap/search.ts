// SEARCH (RFC 3501 section 6.4.4): every search key, nested OR/NOT and parenthesised lists, compiled
// into a tree and evaluated per message. Keys that need the message text (BODY, TEXT, HEADER on a
// field the index does not hold) are evaluated only when the cheap keys did not already decide.
import { parseImapDate, rfc5322Day } from '../../core/mail-format/dates.js';
import type { Token } from './command-parser.js';
import { decodeWords } from './encoded-words.js';
import { decodeTransfer } from './transfer-decode.js';
import { parseAddressList } from './envelope.js';
import { bad } from './imap-errors.js';
import { findBodyStart, headerValue, parseHeaderFields, parseMime, type MimePart } from './mime.js';
import { parseModseq } from './condstore.js';
import { inSet, parseSequenceSet, type SequenceSet } from './sequence-set.js';

export type SearchNode =
  | { k: 'and'; v: SearchNode[] }
  | { k: 'or'; a: SearchNode; b: SearchNode }
  | { k: 'not'; v: SearchNode }
  | { k: 'all' }
  | { k: 'flag'; flag: string; set: boolean }
  | { k: 'recent'; set: boolean }
  | { k: 'new' }
  | { k: 'seq'; set: SequenceSet }
  | { k: 'uid'; set: SequenceSet }
  | { k: 'size'; larger: boolean; n: number }
  | { k: 'date'; internal: boolean; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'header'; field: string; needle: string }
  /** FROM, TO, CC, BCC: matched against each parsed address and its display name. */
  | { k: 'address'; field: string; needle: string }
  | { k: 'body'; needle: string; text: boolean }
  /** RFC 7162 section 3.1.5: mod-sequence at least `n`. */
  | { k: 'modseq'; n: number };

/** What SEARCH looks at for one message. Header values are UTF-8 strings as indexed. */
export interface SearchMessage {
  seq: number;
  uid: number;
  flags: readonly string[];
  recent: boolean;
  internalDate: number;
  size: number;
  /** RFC 7162 mod-sequence. */
  modseq?: number;
  /** Indexed header value; undefined when absent; null when the index does not hold that field. */
  indexedHeader(field: string): string | undefined | null;
}

export interface SearchScope {
  maxSeq: number;
  maxUid: number;
}

class TokenStream {
  i = 0;
  constructor(readonly toks: Token[]) {}
  next(): Token | undefined {
    return this.toks[this.i++];
  }
  get done(): boolean {
    return this.i >= this.toks.length;
  }
}

function atomOf(tok: Token | undefined, what: string): string {
  if (!tok || tok.t === 'list') throw bad(`SEARCH: ${what} expected`);
  return tok.t === 'atom' ? tok.v : tok.v.toString('utf8');
}

function astringOf(tok: Token | undefined, what: string): string {
  if (!tok || tok.t === 'list') throw bad(`SEARCH: ${what} expected`);
  return tok.t === 'atom' ? tok.v : tok.v.toString('utf8');
}

/** Compiles search keys (after an optional CHARSET). Throws ImapError BAD on bad syntax. */
export function compileSearch(args: Token[]): SearchNode {
  const s = new TokenStream(args);
  const first = s.toks[0];
  if (first && first.t === 'atom' && first.v.toUpperCase() === 'CHARSET') {
    s.i = 1;
    const cs = atomOf(s.next(), 'charset').toUpperCase();
    if (cs !== 'UTF-8' && cs !== 'US-ASCII') {
      throw Object.assign(bad(`unsupported charset ${cs}`), { kind: 'NO' as const, responseCode: 'BADCHARSET (UTF-8 US-ASCII)' });
    }
  }
  const keys: SearchNode[] = [];
  while (!s.done) keys.push(parseKey(s, 0));
  if (keys.length === 0) throw bad('SEARCH needs at least one key');
  return keys.length === 1 ? keys[0] : { k: 'and', v: keys };
}

function parseKey(s: TokenStream, depth: number): SearchNode {
  if (depth > 64) throw bad('SEARCH keys nested too deeply');
  const tok = s.next();
  if (!tok) throw bad('SEARCH key expected');
  if (tok.t === 'list') {
    const inner = new TokenStream(tok.v);
    const keys: SearchNode[] = [];
    while (!inner.done) keys.push(parseKey(inner, depth + 1));
    if (keys.length === 0) throw bad('empty SEARCH list');
    return keys.length === 1 ? keys[0] : { k: 'and', v: keys };
  }
  if (tok.t === 'string') throw bad('SEARCH key expected, got a string');
  const key = tok.v.toUpperCase();
  const date = (internal: boolean, op: 'before' | 'on' | 'since'): SearchNode => {
    const d = parseImapDate(astringOf(s.next(), 'date'));
    if (d === undefined) throw bad(`${key} needs a date like 1-Feb-1994`);
    return { k: 'date', internal, op, day: d };
  };
  const header = (field: string): SearchNode => ({ k: 'header', field, needle: astringOf(s.next(), `${key} string`) });
  const num = (): number => {
    const v = atomOf(s.next(), 'number');
    if (!/^\d{1,10}$/.test(v)) throw bad(`${key} needs a number`);
    return Number(v);
  };
  switch (key) {
    case 'ALL':
      return { k: 'all' };
    case 'ANSWERED':
      return { k: 'flag', flag: '\\Answered', set: true };
    case 'UNANSWERED':
      return { k: 'flag', flag: '\\Answered', set: false };
    case 'DELETED':
      return { k: 'flag', flag: '\\Deleted', set: true };
    case 'UNDELETED':
      return { k: 'flag', flag: '\\Deleted', set: false };
    case 'DRAFT':
      return { k: 'flag', flag: '\\Draft', set: true };
    case 'UNDRAFT':
      return { k: 'flag', flag: '\\Draft', set: false };
    case 'FLAGGED':
      return { k: 'flag', flag: '\\Flagged', set: true };
    case 'UNFLAGGED':
      return { k: 'flag', flag: '\\Flagged', set: false };
    case 'SEEN':
      return { k: 'flag', flag: '\\Seen', set: true };
    case 'UNSEEN':
      return { k: 'flag', flag: '\\Seen', set: false };
    case 'KEYWORD':
      return { k: 'flag', flag: atomOf(s.next(), 'keyword'), set: true };
    case 'UNKEYWORD':
      return { k: 'flag', flag: atomOf(s.next(), 'keyword'), set: false };
    case 'RECENT':
      return { k: 'recent', set: true };
    case 'OLD':
      return { k: 'recent', set: false };
    case 'NEW':
      return { k: 'new' };
    case 'BCC':
    case 'CC':
    case 'FROM':
    case 'TO':
      return { k: 'address', field: key.toLowerCase(), needle: astringOf(s.next(), `${key} string`) };
    case 'SUBJECT':
      return header(key.toLowerCase());
    case 'HEADER': {
      const field = astringOf(s.next(), 'header field name').toLowerCase();
      return header(field);
    }
    case 'BODY':
      return { k: 'body', needle: astringOf(s.next(), 'BODY string'), text: false };
    case 'TEXT':
      return { k: 'body', needle: astringOf(s.next(), 'TEXT string'), text: true };
    case 'BEFORE':
      return date(true, 'before');
    case 'ON':
      return date(true, 'on');
    case 'SINCE':
      return date(true, 'since');
    case 'SENTBEFORE':
      return date(false, 'before');
    case 'SENTON':
      return date(false, 'on');
    case 'SENTSINCE':
      return date(false, 'since');
    case 'LARGER':
      return { k: 'size', larger: true, n: num() };
    case 'SMALLER':
      return { k: 'size', larger: false, n: num() };
    case 'NOT':
      return { k: 'not', v: parseKey(s, depth + 1) };
    case 'OR': {
      const a = parseKey(s, depth + 1);
      const b = parseKey(s, depth + 1);
      return { k: 'or', a, b };
    }
    case 'MODSEQ': {
      // MODSEQ ["/flags/<flag>" priv|shared|all] n: one mod-sequence per message here, so the
      // entry only has to be well-formed (the message's mod-sequence covers every flag).
      let t = s.next();
      if (t?.t === 'string') {
        const entry = t.v.toString('latin1');
        if (!/^\/flags\/\\?[\x21-\x7e]{1,100}$/i.test(entry)) throw bad('SEARCH MODSEQ: the entry name is "/flags/<flag>"');
        const type = s.next();
        if (!(type?.t === 'atom' && /^(priv|shared|all)$/i.test(type.v))) throw bad('SEARCH MODSEQ: the entry type is priv, shared or all');
        t = s.next();
      }
      return { k: 'modseq', n: parseModseq(t, 'SEARCH MODSEQ', true) };
    }
    case 'UID': {
      const set = parseSequenceSet(atomOf(s.next(), 'UID set'));
      if (!set) throw bad('invalid UID set');
      return { k: 'uid', set };
    }
    default: {
      const set = parseSequenceSet(tok.v);
      if (set) return { k: 'seq', set };
      throw bad(`unknown SEARCH key ${tok.v.slice(0, 40)}`);
    }
  }
}

/** True when the keys include MODSEQ (RFC 7162 section 3.1.6: the response then carries the highest mod-sequence). */
export function usesModseq(n: SearchNode): boolean {
  if (n.k === 'modseq') return true;
  if (n.k === 'and') return n.v.some(usesModseq);
  if (n.k === 'or') return usesModseq(n.a) || usesModseq(n.b);
  if (n.k === 'not') return usesModseq(n.v);
  return false;
}

/** True when any key needs the message octets for at least some messages. */
export function needsText(n: SearchNode): boolean {
  switch (n.k) {
    case 'and':
      return n.v.some(needsText);
    case 'or':
      return needsText(n.a) || needsText(n.b);
    case 'not':
      return needsText(n.v);
    case 'body':
      return true;
    case 'header':
    case 'address':
      return true; // possibly: decided per field in evaluate
    default:
      return false;
  }
}

/** Case-insensitive (ASCII letters and, via toLowerCase, most of Unicode) substring match. */
function contains(hay: string, needle: string): boolean {
  if (needle.length === 0) return true;
  return hay.toLowerCase().includes(needle.toLowerCase());
}

/** A matcher over raw octets for TEXT/BODY: ASCII case-insensitive, UTF-8 octets matched exactly otherwise. */
export class OctetMatcher {
  private readonly re: RegExp | undefined;
  private readonly lowerNeedle: string;
  /** The needle is plain ASCII (the common case: no UTF-8 decoding needed to compare). */
  readonly ascii: boolean;
  constructor(readonly needle: string) {
    this.ascii = /^[\x00-\x7f]*$/.test(needle);
    const bin = Buffer.from(needle, 'utf8').toString('latin1');
    this.lowerNeedle = needle.toLowerCase();
    if (bin.length === 0) return;
    const pattern = [...bin]
      .map((c) => {
        const lc = c.toLowerCase();
        const uc = c.toUpperCase();
        if (/[a-zA-Z]/.test(c) && lc !== uc) return `[${lc}${uc}]`;
        return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      })
      .join('');
    this.re = new RegExp(pattern);
  }
  /** Matches a binary (latin1) string of octets. */
  testBinary(hay: string): boolean {
    return this.re === undefined || this.re.test(hay);
  }
  /** Matches decoded text. */
  testText(hay: string): boolean {
    return hay.toLowerCase().includes(this.lowerNeedle);
  }
}

/** Lazily parsed facts about one message's octets. */
export class MessageText {
  private root: MimePart | undefined;
  private headersCache: ReturnType<typeof parseHeaderFields> | undefined;
  private bodyStartCache: number | undefined;
  constructor(readonly raw: Buffer) {}
  get bodyStart(): number {
    this.bodyStartCache ??= findBodyStart(this.raw, 0, this.raw.length).bodyStart;
    return this.bodyStartCache;
  }
  headerValues(field: string): string[] {
    this.headersCache ??= parseHeaderFields(this.raw.toString('utf8', 0, this.bodyStart));
    return this.headersCache.filter((h) => h.key === field).map((h) => h.value);
  }
  mime(): MimePart {
    this.root ??= parseMime(this.raw);
    return this.root;
  }
}

const ENCODED_VALUE = /^[ \t]*(base64|quoted-printable)/i;
const ENCODING_NAMES = [Buffer.from('-Encoding:'), Buffer.from('-encoding:'), Buffer.from('-ENCODING:')];

/** True when some part is base64 or quoted-printable (Buffer.indexOf is much faster than a regex here). */
function hasEncodedParts(raw: Buffer): boolean {
  for (const name of ENCODING_NAMES) {
    for (let i = raw.indexOf(name); i >= 0; i = raw.indexOf(name, i + 1)) {
      if (ENCODED_VALUE.test(raw.toString('latin1', i + name.length, Math.min(raw.length, i + name.length + 40)))) return true;
    }
  }
  return false;
}

function bodyMatches(text: MessageText, m: OctetMatcher, includeHeaders: boolean): boolean {
  const raw = text.raw;
  const all = raw.toString('latin1');
  // Without transfer-encoded parts the octets are the text: one regex over them decides (for TEXT
  // the header octets count too; encoded words are checked decoded below).
  const bodyBin = includeHeaders ? all : all.slice(text.bodyStart);
  if (m.testBinary(bodyBin)) return true;
  if (includeHeaders) {
    const head = all.slice(0, text.bodyStart);
    if (head.includes('=?') && m.testText(decodeWords(raw.toString('utf8', 0, text.bodyStart)))) return true;
    if (!m.ascii && /[\x80-\xff]/.test(head) && m.testText(raw.toString('utf8', 0, text.bodyStart))) return true;
  }
  if (!hasEncodedParts(raw)) {
    // 8-bit text and a non-ASCII needle: compare case-insensitively on the decoded UTF-8 as well.
    // (An ASCII needle matches the octets exactly when it matches the decoded text.)
    return !m.ascii && /[\x80-\xff]/.test(bodyBin) && m.testText(raw.toString('utf8', text.bodyStart));
  }
  const walk = (p: MimePart): boolean => {
    if (p.parts) return p.parts.some(walk);
    if (p.message) return walk(p.message);
    const enc = headerValue(p, 'content-transfer-encoding');
    const body = raw.subarray(p.bodyStart, p.end);
    // An encoding we cannot decode is searched as it is.
    const decoded = decodeTransfer(body, enc) ?? body;
    const charset = p.contentType.params.find(([k]) => k === 'charset')?.[1] ?? 'utf-8';
    let s: string;
    try {
      s = new TextDecoder(charset, { fatal: false }).decode(decoded);
    } catch {
      s = decoded.toString('latin1');
    }
    return m.testText(s);
  };
  return walk(text.mime());
}

/**
 * Evaluates a node. With `text` undefined, returns undefined when the answer needs the message
 * octets; the caller then loads them and asks again.
 */
export function evaluate(
  n: SearchNode,
  msg: SearchMessage,
  scope: SearchScope,
  text: MessageText | undefined,
  matchers: Map<string, OctetMatcher>,
): boolean | undefined {
  switch (n.k) {
    case 'all':
      return true;
    case 'and': {
      let unknown = false;
      for (const c of n.v) {
        const r = evaluate(c, msg, scope, text, matchers);
        if (r === false) return false;
        if (r === undefined) unknown = true;
      }
      return unknown ? undefined : true;
    }
    case 'or': {
      const a = evaluate(n.a, msg, scope, text, matchers);
      if (a === true) return true;
      const b = evaluate(n.b, msg, scope, text, matchers);
      if (b === true) return true;
      return a === undefined || b === undefined ? undefined : false;
    }
    case 'not': {
      const r = evaluate(n.v, msg, scope, text, matchers);
      return r === undefined ? undefined : !r;
    }
    case 'flag': {
      const has = msg.flags.some((f) => f.toLowerCase() === n.flag.toLowerCase());
      return has === n.set;
    }
    case 'recent':
      return msg.recent === n.set;
    case 'new':
      return msg.recent && !msg.flags.includes('\\Seen');
    case 'seq':
      return inSet(n.set, msg.seq, scope.maxSeq);
    case 'uid':
      return inSet(n.set, msg.uid, scope.maxUid);
    case 'size':
      return n.larger ? msg.size > n.n : msg.size < n.n;
    case 'modseq':
      return (msg.modseq ?? 0) >= n.n;
    case 'date': {
      const day = n.internal ? Math.floor(msg.internalDate / 86_400_000) : rfc5322Day(headerOf(msg, text, 'date'));
      if (day === undefined) {
        if (!n.internal && msg.indexedHeader('date') === null && !text) return undefined;
        return false;
      }
      return n.op === 'before' ? day < n.day : n.op === 'on' ? day === n.day : day >= n.day;
    }
    case 'header': {
      const indexed = msg.indexedHeader(n.field);
      if (indexed !== null) {
        // RFC 3501: HEADER field "" matches every message that has the field.
        if (indexed === undefined) return false;
        return contains(decodeWords(indexed), n.needle);
      }
      if (!text) return undefined;
      const values = text.headerValues(n.field);
      if (values.length === 0) return false;
      return values.some((v) => contains(decodeWords(v), n.needle));
    }
    case 'address': {
      const indexed = msg.indexedHeader(n.field);
      if (indexed !== null) return indexed !== undefined && addressMatches(indexed, n.needle);
      if (!text) return undefined;
      return text.headerValues(n.field).some((v) => addressMatches(v, n.needle));
    }
    case 'body': {
      if (!text) return undefined;
      let m = matchers.get(n.needle);
      if (!m) matchers.set(n.needle, (m = new OctetMatcher(n.needle)));
      return bodyMatches(text, m, n.text);
    }
  }
}

/**
 * An address field against a SEARCH FROM/TO/CC/BCC string: each address as "display name
 * <mailbox@host>", after comments, quoting and encoded words are undone, so that
 * `<user-from (comment)@ (comment) domain.org>` is found as user-from@domain.org. An empty needle
 * matches any message that has the field (as HEADER does).
 */
function addressMatches(value: string, needle: string): boolean {
  if (needle.length === 0) return true;
  const addrs = parseAddressList(value);
  for (const a of addrs) {
    if (a.host === null) {
      // A group's start marker carries the group's name (RFC 5322 section 3.4).
      if (a.mailbox !== null && contains(decodeWords(a.mailbox), needle)) return true;
      continue;
    }
    const addr = `${a.mailbox ?? ''}@${a.host}`;
    const shown = a.name !== null ? `${decodeWords(a.name)} <${addr}>` : addr;
    if (contains(shown, needle)) return true;
  }
  // A field with no parsable address is compared as it is.
  return addrs.length === 0 && contains(decodeWords(value), needle);
}

function headerOf(msg: SearchMessage, text: MessageText | undefined, field: string): string | undefined {
  const v = msg.indexedHeader(field);
  if (v !== null) return v;
  return text?.headerValues(field)[0];
}
