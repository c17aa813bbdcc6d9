// Queries over the mail store: which mailboxes and folders a query looks in, and whether a message
// matches. Everything the index holds (From, Subject, To, Cc, the arrival time) is checked without
// reading the message; only a body search, or a recipient outside the lab that the index's To/Cc do
// not name, needs the message parsed.
import type { Accounts } from '../auth.js';
import { LabnetError } from '../errors.js';
import { canonicalFolder, checkUserName, type HeaderFields, type MessageInfo } from '../mail-store/index.js';
import { MAIL_API_LIMITS } from './limits.js';
import { mime } from './mime-lib.js';
import type { AddressList, MessageQuery, MessageSummary, TextMatch } from './types.js';

/** An encoded-word-decoded header value; the raw value if it cannot be decoded. */
export function decodeHeader(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return mime().decodeWords(value);
  } catch {
    return value;
  }
}

export function addressList(value: string | undefined): AddressList {
  if (value === undefined || value === '') return { value: [], text: '' };
  const parsed = mime().parseAddressHeader(value, { flatten: true });
  return { value: parsed.value.map((a) => ({ name: a.name, address: a.address ?? '' })), text: parsed.text };
}

export function parseDate(value: string | undefined): Date | null {
  if (value === undefined) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

export function messageId(user: string, folder: string, uid: number): string {
  return `${user}/${folder}/${uid}`;
}

/** A summary from the index alone (no file read). */
export function summarise(user: string, folder: string, info: MessageInfo): MessageSummary {
  const h: HeaderFields = info.headers;
  return {
    id: messageId(user, folder, info.uid),
    user,
    folder,
    uid: info.uid,
    from: addressList(h.from),
    to: addressList(h.to),
    cc: addressList(h.cc),
    subject: decodeHeader(h.subject),
    date: parseDate(h.date),
    messageId: h['message-id'] ?? null,
    size: info.size,
    receivedAt: new Date(info.internalDate),
    flags: [...info.flags],
  };
}

function textMatcher(m: TextMatch | undefined, what: string): ((s: string) => boolean) | undefined {
  if (m === undefined) return undefined;
  if (m instanceof RegExp) {
    const re = new RegExp(m.source, m.flags.replace(/[gy]/g, ''));
    return (s) => re.test(s);
  }
  if (typeof m !== 'string') throw new LabnetError('INVALID_QUERY', `${what}: expected a string or a RegExp`);
  if (m.length > MAIL_API_LIMITS.maxQueryValueLength)
    throw new LabnetError('INVALID_QUERY', `${what}: longer than ${MAIL_API_LIMITS.maxQueryValueLength} characters`);
  const needle = m.toLowerCase();
  return (s) => s.toLowerCase().includes(needle);
}

/** Where a query looks: mailboxes (undefined: every one) and folders ('*': every one). */
export interface QueryScope {
  users: string[] | undefined;
  folder: string;
}

/** A compiled query. `index` needs only the index; `deep` (when present) needs the parsed message. */
export class MessageMatcher {
  readonly scope: QueryScope;
  private readonly from?: (s: string) => boolean;
  private readonly subject?: (s: string) => boolean;
  private readonly text?: (s: string) => boolean;
  /** A recipient outside the lab: looked for in To/Cc/Bcc and in the catch-all's X-Labnet-Captured-For. */
  private readonly foreignTo?: string;
  private readonly since?: number;

  constructor(
    query: MessageQuery,
    accounts: Accounts,
    private readonly catchAll: string,
  ) {
    if (query === null || typeof query !== 'object') throw new LabnetError('INVALID_QUERY', 'the query must be an object');
    this.from = textMatcher(query.from, 'from');
    this.subject = textMatcher(query.subject, 'subject');
    this.text = textMatcher(query.text, 'text');
    if (query.since !== undefined) {
      const t = query.since instanceof Date ? query.since.getTime() : query.since;
      if (typeof t !== 'number' || !Number.isFinite(t)) throw new LabnetError('INVALID_QUERY', 'since: expected a Date or milliseconds since the epoch');
      this.since = t;
    }
    const folder = query.folder ?? 'INBOX';
    if (typeof folder !== 'string' || folder.length === 0 || folder.length > 200)
      throw new LabnetError('INVALID_QUERY', 'folder: expected a folder name or "*"');
    let users: string[] | undefined;
    if (query.user !== undefined) users = [mailboxOf(query.user, accounts, catchAll, 'user')];
    if (query.to !== undefined) {
      if (typeof query.to !== 'string' || query.to.length > 320) throw new LabnetError('INVALID_QUERY', 'to: expected an address');
      const local = accounts.localUser(query.to);
      const target = local === undefined ? catchAll : mailboxOf(query.to, accounts, catchAll, 'to');
      if (local === undefined) this.foreignTo = query.to.trim().toLowerCase();
      users = users === undefined || users.includes(target) ? [target] : [];
    }
    this.scope = { users, folder: folder === '*' ? folder : canonicalFolder(folder) };
  }

  /** True when the parsed message must be looked at too. */
  get deep(): boolean {
    return this.text !== undefined || this.foreignTo !== undefined;
  }

  /** The index part of the query. */
  index(info: MessageInfo): boolean {
    if (this.since !== undefined && info.internalDate < this.since) return false;
    if (this.subject && !this.subject(decodeHeader(info.headers.subject))) return false;
    if (this.from && !this.from(decodeHeader(info.headers.from))) return false;
    return true;
  }

  /** The rest: body text, and a foreign recipient in the fields or labnet's capture note. */
  content(text: string, headers: ReadonlyArray<{ name: string; value: string }>): boolean {
    if (this.text && !this.text(text)) return false;
    if (this.foreignTo !== undefined) {
      const wanted = this.foreignTo;
      const named = headers.some((h) => {
        const n = h.name.toLowerCase();
        if (n !== 'to' && n !== 'cc' && n !== 'bcc' && n !== 'x-labnet-captured-for') return false;
        return addressList(h.value).value.some((a) => a.address.toLowerCase() === wanted);
      });
      if (!named) return false;
    }
    return true;
  }
}

/**
 * The mailbox an address or login is delivered to, as the SMTP recipient policy decides it: the
 * account (a `+detail` falls back to the base name when only that exists), postmaster and abuse to the
 * catch-all, any other name to a mailbox of its own (auto-created mailboxes, test mode).
 */
export function mailboxOf(nameOrAddress: string, accounts: Accounts, catchAll: string, what = 'user'): string {
  if (typeof nameOrAddress !== 'string' || nameOrAddress.length === 0 || nameOrAddress.length > 320)
    throw new LabnetError('INVALID_QUERY', `${what}: expected a user name or a lab address`);
  const local = accounts.localUser(nameOrAddress);
  if (local === undefined) throw new LabnetError('INVALID_QUERY', `${what}: "${nameOrAddress.slice(0, 80)}" is not an address of the lab's domain`);
  const plus = local.indexOf('+');
  const candidates = plus > 0 ? [local, local.slice(0, plus)] : [local];
  for (const c of candidates) if (accounts.exists(c) || c === catchAll) return c;
  if (local === 'postmaster' || local === 'abuse') return catchAll;
  try {
    checkUserName(local);
  } catch {
    throw new LabnetError('INVALID_QUERY', `${what}: "${nameOrAddress.slice(0, 80)}" cannot be a mailbox name`);
  }
  return local;
}
