// SORT (RFC 5256) and its display keys (RFC 5957): the sort criteria, the base subject (section 2.1),
// and one comparison over the messages' indexed header values. Strings compare with i;ascii-casemap
// (ASCII letters folded, octets otherwise); ties fall back to the sequence number (section 3).
import { parseAddressList } from './envelope.js';
import { decodeWords } from './encoded-words.js';
import { bad } from './imap-errors.js';
import { stripComments } from './mime.js';

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

const KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** The sort criteria list, e.g. ["REVERSE", "DATE", "SUBJECT"]; at most 2 x the keys. */
export function parseSortCriteria(words: readonly string[]): SortCriterion[] {
  if (words.length === 0 || words.length > 2 * KEYS.size) throw bad('SORT needs a list of sort criteria');
  const out: SortCriterion[] = [];
  let reverse = false;
  for (const w of words) {
    const k = w.toUpperCase();
    if (k === 'REVERSE') {
      if (reverse) throw bad('REVERSE REVERSE');
      reverse = true;
      continue;
    }
    if (!KEYS.has(k)) throw bad(`unknown sort key ${k.slice(0, 20)}`);
    out.push({ key: k as SortKey, reverse });
    reverse = false;
  }
  if (reverse || out.length === 0) throw bad('REVERSE must precede a sort key');
  return out;
}

const SUBJ_LEADER = /^(?:(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)*:[ \t]*)/i;
const SUBJ_BLOB = /^\[[^[\]]*\][ \t]*/;
const SUBJ_TRAILER = /(?:[ \t]*\(fwd\))+[ \t]*$|[ \t]+$/i;

/**
 * The base subject (RFC 5256 section 2.1): encoded words decoded, white space collapsed, then
 * "(fwd)" trailers, "Re:"/"Fw:"/"Fwd:" leaders and "[blob]" prefixes removed until nothing changes,
 * and a "[fwd: ...]" wrapper unwrapped. Bounded: every round removes at least one character.
 */
export function baseSubject(raw: string | undefined): string {
  if (raw === undefined) return '';
  let s = decodeWords(raw).replace(/[ \t\r\n]+/g, ' ');
  for (let round = 0; round < 1000; round++) {
    const before = s;
    // (2) trailers
    s = s.replace(SUBJ_TRAILER, '');
    // (3)-(5) leaders and blobs
    for (let inner = 0; inner < 1000; inner++) {
      const b = s;
      s = s.replace(/^[ \t]+/, '').replace(SUBJ_LEADER, '');
      const blob = SUBJ_BLOB.exec(s);
      if (blob && s.length > blob[0].length) s = s.slice(blob[0].length);
      if (s === b) break;
    }
    // (6) [fwd: ...]
    const fwd = /^\[fwd:(.*)\]$/i.exec(s);
    if (fwd) s = fwd[1].trim();
    if (s === before) break;
  }
  return s.toUpperCase();
}

/**
 * The first address's local part (section 3: CC, FROM, TO). A group's start marker counts as an
 * address whose local part is the group name (as Dovecot sorts; imaptest sort-addresses).
 */
function firstMailbox(raw: string | undefined): string {
  if (raw === undefined) return '';
  return (parseAddressList(raw)[0]?.mailbox ?? '').toUpperCase();
}

/** RFC 5957 section 3: the display name of the first address, else its addr-spec; a group's name. */
function firstDisplay(raw: string | undefined): string {
  if (raw === undefined) return '';
  const a = parseAddressList(raw)[0];
  if (!a) return '';
  const name = a.name !== null ? decodeWords(a.name).trim() : '';
  if (name.length > 0) return name.toUpperCase();
  const host = a.host === null || a.host === 'MISSING_DOMAIN' ? '' : `@${a.host}`;
  return `${a.mailbox ?? ''}${host}`.toUpperCase();
}

/** The sent date (Date header, in UTC), or the internal date when it is absent or unreadable (section 3). */
export function sentDate(raw: string | undefined, internalDate: number): number {
  if (raw === undefined) return internalDate;
  const t = Date.parse(stripComments(raw).trim());
  return Number.isFinite(t) ? t : internalDate;
}

export interface SortInput {
  seq: number;
  size: number;
  internalDate: number;
  header(field: string): string | undefined;
}

type Value = string | number;

function value(key: SortKey, m: SortInput): Value {
  switch (key) {
    case 'ARRIVAL':
      return m.internalDate;
    case 'SIZE':
      return m.size;
    case 'DATE':
      return sentDate(m.header('date'), m.internalDate);
    case 'SUBJECT':
      return baseSubject(m.header('subject'));
    case 'CC':
      return firstMailbox(m.header('cc'));
    case 'FROM':
      return firstMailbox(m.header('from'));
    case 'TO':
      return firstMailbox(m.header('to'));
    case 'DISPLAYFROM':
      return firstDisplay(m.header('from'));
    case 'DISPLAYTO':
      return firstDisplay(m.header('to'));
  }
}

/** Sorts `msgs` by `criteria` (each value computed once per message), ties by sequence number. */
export function sortMessages<T extends SortInput>(msgs: readonly T[], criteria: readonly SortCriterion[]): T[] {
  const rows = msgs.map((m) => ({ m, v: criteria.map((c) => value(c.key, m)) }));
  rows.sort((a, b) => {
    for (let i = 0; i < criteria.length; i++) {
      const x = a.v[i];
      const y = b.v[i];
      const d = x < y ? -1 : x > y ? 1 : 0;
      if (d !== 0) return criteria[i].reverse ? -d : d;
    }
    return a.m.seq - b.m.seq;
  });
  return rows.map((r) => r.m);
}

/**
 * THREAD=ORDEREDSUBJECT (RFC 5256 section 4): messages grouped by base subject; in each group the
 * earliest (sent date, then sequence number) is the parent and the others its children in date
 * order; threads ordered by their parent's date. Returns the thread-list text, e.g. "(1)(2 (3)(4))".
 */
export function orderedSubjectThreads(msgs: readonly SortInput[], num: (m: SortInput) => number): string {
  const rows = msgs.map((m) => ({ m, subject: baseSubject(m.header('subject')), date: sentDate(m.header('date'), m.internalDate) }));
  const byDate = (a: (typeof rows)[number], b: (typeof rows)[number]): number => a.date - b.date || a.m.seq - b.m.seq;
  const groups = new Map<string, typeof rows>();
  for (const r of [...rows].sort(byDate)) {
    const g = groups.get(r.subject);
    if (g) g.push(r);
    else groups.set(r.subject, [r]);
  }
  const threads = [...groups.values()].sort((a, b) => byDate(a[0], b[0]));
  return threads
    .map((g) => {
      const [first, ...rest] = g;
      if (rest.length === 0) return `(${num(first.m)})`;
      if (rest.length === 1) return `(${num(first.m)} ${num(rest[0].m)})`;
      return `(${num(first.m)} ${rest.map((r) => `(${num(r.m)})`).join('')})`;
    })
    .join('');
}
