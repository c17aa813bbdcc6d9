// The grammar CONDSTORE and QRESYNC (RFC 7162 section 7) add to commands, and the ENABLE table
// (RFC 5161). Pure functions over parsed tokens: every value is checked (mod-sequences are positive
// 63-bit integers, sets have a bounded number of ranges) and a violation is a BAD with a clear text.
import type { Token } from './command-parser.js';
import { bad } from './imap-errors.js';
import { parseSequenceSet, type SequenceSet } from './sequence-set.js';

/** The largest mod-sequence (RFC 7162 section 7: 1 <= n <= 9,223,372,036,854,775,807). */
export const MAX_MODSEQ = 9_223_372_036_854_775_807n;
/** Ranges a known-uids or seq-match set may have (a hostile client could send megabytes of them). */
export const MAX_QRESYNC_RANGES = 10_000;

/**
 * Extensions ENABLE can turn on (RFC 5161 section 3.1), with what each implies. A later extension
 * (IMAP4rev2, UTF8=ACCEPT) is one more entry here and a check of `session.enabled` where it matters.
 */
export const ENABLEABLE: ReadonlyMap<string, { implies: readonly string[] }> = new Map([
  ['CONDSTORE', { implies: [] }],
  // RFC 7162 section 3.2.3: enabling QRESYNC enables CONDSTORE too.
  ['QRESYNC', { implies: ['CONDSTORE'] }],
  // RFC 9051 appendix A: with IMAP4rev1 and IMAP4rev2 both advertised, rev2's response forms only
  // after ENABLE IMAP4rev2 (ESEARCH for SEARCH, no RECENT, UID in unsolicited FETCH, UTF-8 names).
  ['IMAP4rev2', { implies: [] }],
  // RFC 6855 section 3: UTF-8 in quoted strings and mailbox names.
  ['UTF8=ACCEPT', { implies: [] }],
]);

/**
 * A mod-sequence value: 1*DIGIT, at most 2^63-1, and 0 only where the grammar says
 * mod-sequence-valzer. Returned as a number: values above 2^53 are clamped to MAX_SAFE_INTEGER, which
 * is above every mod-sequence this server hands out, so every comparison keeps its answer.
 */
export function parseModseq(tok: Token | undefined, what: string, allowZero: boolean): number {
  const text = tok?.t === 'atom' ? tok.v : undefined;
  if (text === undefined || !/^\d{1,19}$/.test(text)) throw bad(`${what}: a mod-sequence (a number from ${allowZero ? 0 : 1} to 2^63-1) expected`);
  const n = BigInt(text);
  if (n > MAX_MODSEQ || (n === 0n && !allowZero)) throw bad(`${what}: a mod-sequence (a number from ${allowZero ? 0 : 1} to 2^63-1) expected`);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** A set without "*" (known-uids, known-sequence-set, known-uid-set), at most MAX_QRESYNC_RANGES ranges. */
function knownSet(tok: Token | undefined, what: string): SequenceSet {
  const set = tok?.t === 'atom' ? parseSequenceSet(tok.v) : undefined;
  if (!set) throw bad(`QRESYNC: ${what} must be a set of numbers`);
  if (set.some((r) => r.from === 0 || r.to === 0)) throw bad(`QRESYNC: ${what} may not contain "*"`);
  if (set.length > MAX_QRESYNC_RANGES) throw bad(`QRESYNC: ${what} has more than ${MAX_QRESYNC_RANGES} ranges`);
  return set;
}

/** Expands an ascending set into its numbers, at most `cap` of them (seq-match data pairs numbers one to one). */
function expand(set: SequenceSet, cap: number, what: string): number[] {
  const out: number[] = [];
  for (const r of set) {
    const a = Math.min(r.from, r.to);
    const b = Math.max(r.from, r.to);
    if (b - a + 1 + out.length > cap) throw bad(`QRESYNC: ${what} has more than ${cap} numbers`);
    for (let n = a; n <= b; n++) out.push(n);
  }
  for (let i = 1; i < out.length; i++) if (out[i] <= out[i - 1]) throw bad(`QRESYNC: ${what} must be in ascending order`);
  return out;
}

export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids?: SequenceSet;
  /** Pairs of [sequence number, UID] the client knows, ascending. */
  seqMatch?: Array<[number, number]>;
}

export interface SelectParams {
  condstore: boolean;
  qresync?: QresyncParams;
}

/** SELECT/EXAMINE parameters (RFC 4466 select-params): "(CONDSTORE)", "(QRESYNC (...))", or both. */
export function parseSelectParams(tok: Token | undefined): SelectParams {
  const out: SelectParams = { condstore: false };
  if (tok === undefined) return out;
  if (tok.t !== 'list' || tok.v.length === 0) throw bad('SELECT parameters must be a non-empty list');
  const items = tok.v;
  for (let i = 0; i < items.length; i++) {
    const name = items[i].t === 'atom' ? (items[i] as { v: string }).v.toUpperCase() : '';
    if (name === 'CONDSTORE' && !out.condstore) out.condstore = true;
    else if (name === 'QRESYNC' && out.qresync === undefined) out.qresync = parseQresync(items[++i]);
    else throw bad(`unknown or repeated SELECT parameter ${name.slice(0, 30) || '(not an atom)'}`);
  }
  return out;
}

function parseQresync(tok: Token | undefined): QresyncParams {
  if (tok?.t !== 'list' || tok.v.length < 2 || tok.v.length > 4) throw bad('QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]])');
  const [v, m] = tok.v;
  const uidValidity = v.t === 'atom' && /^\d{1,10}$/.test(v.v) ? Number(v.v) : 0;
  if (uidValidity < 1 || uidValidity > 0xffffffff) throw bad('QRESYNC: UIDVALIDITY must be a number from 1 to 4294967295');
  const out: QresyncParams = { uidValidity, modseq: parseModseq(m, 'QRESYNC', false) };
  let k = 2;
  if (tok.v[k]?.t === 'atom') out.knownUids = knownSet(tok.v[k++], 'known-uids');
  const matchTok = tok.v[k];
  if (matchTok?.t === 'list') {
    k++;
    if (matchTok.v.length !== 2) throw bad('QRESYNC: seq-match-data is (known-sequence-set known-uid-set)');
    const seqs = expand(knownSet(matchTok.v[0], 'known-sequence-set'), MAX_QRESYNC_RANGES, 'known-sequence-set');
    const ids = expand(knownSet(matchTok.v[1], 'known-uid-set'), MAX_QRESYNC_RANGES, 'known-uid-set');
    if (seqs.length !== ids.length) throw bad('QRESYNC: known-sequence-set and known-uid-set must have as many numbers');
    out.seqMatch = seqs.map((n, i): [number, number] => [n, ids[i]]);
  }
  if (k !== tok.v.length) throw bad('QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]])');
  return out;
}

export interface FetchModifiers {
  changedSince?: number;
  vanished: boolean;
}

/** FETCH modifiers (RFC 4466 fetch-modifiers): "(CHANGEDSINCE n)" and, for UID FETCH, "VANISHED". */
export function parseFetchModifiers(tok: Token): FetchModifiers {
  if (tok.t !== 'list' || tok.v.length === 0) throw bad('FETCH modifiers must be a non-empty list');
  const out: FetchModifiers = { vanished: false };
  for (let i = 0; i < tok.v.length; i++) {
    const t = tok.v[i];
    const name = t.t === 'atom' ? t.v.toUpperCase() : '';
    if (name === 'CHANGEDSINCE' && out.changedSince === undefined) out.changedSince = parseModseq(tok.v[++i], 'CHANGEDSINCE', false);
    else if (name === 'VANISHED' && !out.vanished) out.vanished = true;
    else throw bad(`unknown or repeated FETCH modifier ${name.slice(0, 30) || '(not an atom)'}`);
  }
  // RFC 7162 section 3.2.6.
  if (out.vanished && out.changedSince === undefined) throw bad('VANISHED needs CHANGEDSINCE');
  return out;
}

/** STORE modifiers: "(UNCHANGEDSINCE n)" (RFC 7162 section 3.1.3), n may be 0. */
export function parseStoreModifiers(tok: Token): { unchangedSince: number } {
  if (tok.t !== 'list' || tok.v.length !== 2 || tok.v[0].t !== 'atom' || tok.v[0].v.toUpperCase() !== 'UNCHANGEDSINCE') {
    throw bad('the only STORE modifier is (UNCHANGEDSINCE mod-sequence)');
  }
  return { unchangedSince: parseModseq(tok.v[1], 'UNCHANGEDSINCE', true) };
}

/**
 * The UIDs to report as VANISHED (EARLIER) when the expunge history does not reach back to the
 * client's mod-sequence (RFC 7162 section 3.2.6, note; section 5): every UID of `ranges` below
 * UIDNEXT that is not in the mailbox, as ascending disjoint ranges (never expanded one by one: the
 * client's set may be 1:4294967295). `present` is the mailbox's UIDs, ascending.
 */
export function missingUidRanges(ranges: ReadonlyArray<readonly [number, number]>, present: ArrayLike<number>, uidNext: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = 0;
  for (const [a0, b0] of ranges) {
    const b = Math.min(b0, uidNext - 1);
    let a = a0;
    if (a > b) continue;
    while (i < present.length && present[i] < a) i++;
    while (a <= b) {
      if (i < present.length && present[i] <= b) {
        if (present[i] > a) out.push([a, present[i] - 1]);
        a = present[i] + 1;
        i++;
      } else {
        out.push([a, b]);
        break;
      }
    }
  }
  return out;
}
