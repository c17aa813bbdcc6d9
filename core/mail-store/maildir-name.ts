// Maildir file names (https://cr.yp.to/proto/maildir.html and the Dovecot/Courier conventions):
//   <unique>[,S=<size>][,W=<vsize>]:2,<flags>
// The unique part is `<seconds>.M<micros>P<pid>Q<seq>.<host>`; `,S=` carries the exact size in octets
// so listing a folder needs no stat; the info suffix after `:2,` holds the system flags as letters in
// ASCII order (D draft, F flagged, P passed, R replied, S seen, T trashed) followed by keyword letters
// a-z (indexes into the folder's dovecot-keywords file).
import { hostname } from 'node:os';

export const INFO_SEPARATOR = ':';

/** IMAP system flag <-> Maildir info letter. P (passed) has no IMAP flag: it is kept untouched. */
export const SYSTEM_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['\\Draft', 'D'],
  ['\\Flagged', 'F'],
  ['\\Answered', 'R'],
  ['\\Seen', 'S'],
  ['\\Deleted', 'T'],
];
const FLAG_BY_LETTER = new Map(SYSTEM_FLAGS.map(([f, l]) => [l, f]));
const LETTER_BY_FLAG = new Map(SYSTEM_FLAGS.map(([f, l]) => [f.toLowerCase(), l]));

export function systemFlagLetter(flag: string): string | undefined {
  return LETTER_BY_FLAG.get(flag.toLowerCase());
}

export function systemFlagName(letter: string): string | undefined {
  return FLAG_BY_LETTER.get(letter);
}

export interface ParsedName {
  /** Everything before the info separator: the key in the uid list. */
  base: string;
  /** Letters after ":2," (empty for a message in new/ or without info). */
  info: string;
  /** Size from ",S=" when present. */
  size: number | undefined;
}

export function parseMaildirName(name: string): ParsedName {
  const sep = name.indexOf(`${INFO_SEPARATOR}2,`);
  const base = sep < 0 ? name : name.slice(0, sep);
  const info = sep < 0 ? '' : name.slice(sep + 3);
  const m = /,S=(\d+)/.exec(base);
  return { base, info, size: m ? Number(m[1]) : undefined };
}

/** The file name in cur/ for `base` with the given info letters (sorted, deduplicated). */
export function formatCurName(base: string, letters: Iterable<string>): string {
  return `${base}${INFO_SEPARATOR}2,${[...new Set(letters)].sort().join('')}`;
}

// Host part of unique names: "/" and ":" are forbidden in it (maildir spec: \057 and \072); kept
// short so the unique name also serves as a POP3 UIDL (RFC 1939 section 7: at most 70 characters).
const HOST =
  hostname()
    .replace(/\//g, '\\057')
    .replace(/:/g, '\\072')
    .replace(/,/g, '\\054')
    .replace(/[^\x21-\x7e]/g, '_')
    .slice(0, 24) || 'labnet';

let seq = 0;
let lastSecond = 0;

/** A new unique base name; `size` is appended as ",S=size". Names sort by delivery time. */
export function newUniqueBase(size: number, nowMs: number = Date.now()): string {
  const sec = Math.floor(nowMs / 1000);
  if (sec !== lastSecond) lastSecond = sec;
  seq++;
  const micros = Math.floor((nowMs % 1000) * 1000) + Number(process.hrtime.bigint() % 1000n);
  return `${sec}.M${micros}P${process.pid}Q${seq}.${HOST},S=${size}`;
}

/** Orders unique names by delivery time: seconds, then the Q sequence, then the text. */
export function compareUniqueNames(a: string, b: string): number {
  const sa = Number.parseInt(a, 10);
  const sb = Number.parseInt(b, 10);
  if (Number.isFinite(sa) && Number.isFinite(sb) && sa !== sb) return sa - sb;
  const qa = /Q(\d+)/.exec(a);
  const qb = /Q(\d+)/.exec(b);
  if (qa && qb && qa[1] !== qb[1]) return Number(qa[1]) - Number(qb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}
