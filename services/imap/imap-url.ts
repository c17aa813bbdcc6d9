// IMAP URLs (RFC 5092) as CATENATE (RFC 4469 section 3) uses them: a message, or a section of one, in
// one of the user's own mailboxes on this server. Accepted: the relative form
// "/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]" and the absolute one with
// "imap://[user[;AUTH=*|PLAIN]@]host[:port]" in front (the user, when given, must be the one logged
// in; the host is not checked: every name of this server is the same server). URLAUTH and anything else
// is refused. The parse is bounded (length cap, one regular expression without nested quantifiers).

export interface ImapUrl {
  /** The mailbox name, percent-decoded, still in modified UTF-7 as on the wire. */
  mailbox: string;
  uidValidity?: number;
  uid: number;
  /** The section as in BODY[...], percent-decoded ("" for the whole message). */
  section: string;
  partial?: { offset: number; length?: number };
}

/** Longest URL accepted (RFC 5092 sets none; a mailbox name is at most 1000 characters here). */
export const MAX_IMAP_URL = 2048;

const RELATIVE =
  /^\/([^;/?#]+(?:\/[^;/?#]+)*)(?:;uidvalidity=([1-9]\d{0,9}))?\/;uid=([1-9]\d{0,9})(?:\/;section=([^/;?#]+))?(?:\/;partial=(\d{1,10})(?:\.([1-9]\d{0,9}))?)?$/i;
const AUTHORITY = /^imap:\/\/(?:([^@/;:]+)(?:;auth=(?:\*|plain))?@)?[A-Za-z0-9.\-[\]:]+(?::\d{1,5})?(?=\/)/i;

function percentDecode(s: string): string | undefined {
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(s)) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Parses `text` for the logged-in `user`; undefined when it is not a URL CATENATE can use. */
export function parseImapUrl(text: string, user: string): ImapUrl | undefined {
  if (text.length === 0 || text.length > MAX_IMAP_URL) return undefined;
  let rest = text;
  const auth = AUTHORITY.exec(text);
  if (auth) {
    if (auth[1] !== undefined && percentDecode(auth[1])?.toLowerCase() !== user.toLowerCase()) return undefined;
    rest = text.slice(auth[0].length);
  } else if (!text.startsWith('/')) return undefined;
  const m = RELATIVE.exec(rest);
  if (!m) return undefined;
  const mailbox = percentDecode(m[1]);
  const section = m[4] === undefined ? '' : percentDecode(m[4]);
  if (mailbox === undefined || section === undefined) return undefined;
  const url: ImapUrl = { mailbox, uid: Number(m[3]), section };
  if (m[2] !== undefined) url.uidValidity = Number(m[2]);
  if (m[5] !== undefined) url.partial = { offset: Number(m[5]), ...(m[6] !== undefined ? { length: Number(m[6]) } : {}) };
  if (url.uid > 0xffffffff || (url.uidValidity ?? 1) > 0xffffffff) return undefined;
  return url;
}
