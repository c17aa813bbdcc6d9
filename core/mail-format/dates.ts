// Dates in mail, in one place: RFC 5322 date-time (Date header, the Received trace field SMTP adds),
// IMAP date-time (INTERNALDATE, APPEND, RFC 3501 section 9) and IMAP date (SEARCH keys), with the one
// month table they share. Everything is produced in UTC; parsers never throw.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const MONTH_INDEX = new Map<string, number>(MONTHS.map((m, i) => [m.toLowerCase(), i]));

/** 0-11 for a three-letter English month name in any case; -1 otherwise. */
export function monthIndex(name: string): number {
  return MONTH_INDEX.get(name.toLowerCase()) ?? -1;
}

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** RFC 5322 section 3.3 date-time in UTC: "Wed, 25 Nov 2026 15:39:43 +0000". */
export function rfc5322Date(d: Date): string {
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** IMAP date-time (RFC 3501 section 9) in UTC: "17-Jul-1996 02:44:25 +0000". */
export function imapDateTime(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** Parses an IMAP date-time, "17-Jul-1996 02:44:25 -0700" (the day may be space-padded), to ms since the epoch. */
export function parseImapDateTime(s: string): number | undefined {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const mon = monthIndex(m[2]);
  if (mon < 0) return undefined;
  const offset = (Number(m[8]) * 60 + Number(m[9])) * (m[7] === '-' ? -1 : 1);
  const t = Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000;
  return Number.isNaN(t) ? undefined : t;
}

/** An IMAP date, "1-Feb-1994" (SEARCH BEFORE/ON/SINCE...), as days since the epoch (UTC). */
export function parseImapDate(s: string): number | undefined {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return undefined;
  const mon = monthIndex(m[2]);
  if (mon < 0) return undefined;
  const day = Number(m[1]);
  if (day < 1 || day > 31) return undefined;
  return Math.floor(Date.UTC(Number(m[3]), mon, day) / 86_400_000);
}

/**
 * The calendar day of an RFC 5322 Date field as written, in its own zone (what RFC 3501 SENTBEFORE and
 * friends compare, "disregarding time and timezone"), as days since the epoch. Two-digit years follow
 * RFC 5322 section 4.3 (obsolete syntax).
 */
export function rfc5322Day(date: string | undefined): number | undefined {
  if (!date) return undefined;
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(date);
  if (m) {
    const mon = monthIndex(m[2]);
    let year = Number(m[3]);
    if (year < 50) year += 2000;
    else if (year < 1000) year += 1900;
    if (mon >= 0) return Math.floor(Date.UTC(year, mon, Number(m[1])) / 86_400_000);
  }
  const t = Date.parse(date);
  return Number.isNaN(t) ? undefined : Math.floor(t / 86_400_000);
}
