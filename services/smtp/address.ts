// The MAIL/RCPT argument parser (RFC 5321 section 4.1.2 grammar, RFC 6531 for UTF-8 addresses):
// `FROM:<reverse-path> [SP esmtp-param]*` and `TO:<forward-path> [SP esmtp-param]*`. Hostile input
// gets a coded failure, never an exception.
import { LIMITS } from './limits.js';
import { REPLY, type SmtpReply } from './replies.js';

export interface Mailbox {
  /** Local part as the client wrote it (quoted form kept). */
  localPart: string;
  /** Local part without quoting, for lookups. */
  localValue: string;
  /** Domain, or an address literal with its brackets. */
  domain: string;
  /** `local@domain` as written. */
  address: string;
  /** Contains non-ASCII octets (needs SMTPUTF8, RFC 6531 section 3.4). */
  utf8: boolean;
}

export type PathParse = { ok: true; mailbox: Mailbox | null; postmaster: boolean; params: Map<string, string | undefined> } | { ok: false; reply: SmtpReply };

// RFC 5322 atext plus UTF8-non-ascii (RFC 6532 section 3.2).
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+$/u;
const SUBDOMAIN = /^([A-Za-z0-9\u0080-\u{10ffff}]([A-Za-z0-9\u0080-\u{10ffff}-]*[A-Za-z0-9\u0080-\u{10ffff}])?)$/u;
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value: any CHAR except "=", SP and controls (RFC 5321), plus UTF-8 (RFC 6531 section 3.3).
const VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\u{10ffff}]+$/u;

function fail(reply: SmtpReply): PathParse {
  return { ok: false, reply };
}

function isDomain(d: string): boolean {
  if (d.length === 0 || d.length > LIMITS.domain) return false;
  if (d.startsWith('[')) return isAddressLiteral(d);
  return d.split('.').every((s) => SUBDOMAIN.test(s));
}

function isAddressLiteral(d: string): boolean {
  if (!d.endsWith(']')) return false;
  const inner = d.slice(1, -1);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(inner)) return inner.split('.').every((n) => Number(n) <= 255);
  if (/^IPv6:[0-9A-Fa-f:.]+$/i.test(inner)) return true;
  // General-address-literal: Standardized-tag ":" 1*dcontent
  return /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/.test(inner);
}

/** Parses `local@domain` (no angle brackets). */
export function parseMailbox(text: string): Mailbox | undefined {
  let localPart: string;
  let localValue: string;
  let rest: string;
  if (text.startsWith('"')) {
    let i = 1;
    let value = '';
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\\') {
        const n = text[i + 1];
        if (n === undefined || n < ' ' || n === '\x7f') return undefined;
        value += n;
        i++;
      } else if (c === '"') break;
      else if (c < ' ' || c === '\x7f') return undefined;
      else value += c;
    }
    if (text[i] !== '"') return undefined;
    localPart = text.slice(0, i + 1);
    localValue = value;
    rest = text.slice(i + 1);
    if (!rest.startsWith('@')) return undefined;
    rest = rest.slice(1);
  } else {
    const at = text.lastIndexOf('@');
    if (at <= 0) return undefined;
    localPart = text.slice(0, at);
    if (!localPart.split('.').every((a) => ATEXT.test(a))) return undefined;
    localValue = localPart;
    rest = text.slice(at + 1);
  }
  if (Buffer.byteLength(localPart) > LIMITS.localPart) return undefined;
  if (!isDomain(rest)) return undefined;
  const address = `${localPart}@${rest}`;
  return { localPart, localValue, domain: rest, address, utf8: /[^\x00-\x7f]/.test(address) };
}

/**
 * Parses the arguments of MAIL (`keyword` "FROM") or RCPT ("TO"): everything after the command
 * name and its space. A space after the colon is tolerated (many clients send one).
 */
export function parsePathArgument(args: string, keyword: 'FROM' | 'TO'): PathParse {
  const head = `${keyword}:`;
  if (args.slice(0, head.length).toUpperCase() !== head) {
    return fail(REPLY.pathSyntax(keyword));
  }
  let rest = args.slice(head.length).replace(/^ +/, '');
  if (!rest.startsWith('<')) return fail(REPLY.pathNeedsBrackets(keyword));
  // Find the closing ">" outside any quoted string.
  let quoted = false;
  let end = -1;
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) {
      end = i;
      break;
    }
  }
  if (end < 0) return fail(REPLY.pathUnclosed(keyword));
  let path = rest.slice(1, end);
  rest = rest.slice(end + 1);
  if (Buffer.byteLength(path) + 2 > LIMITS.path) return fail(REPLY.pathTooLong(LIMITS.path));
  // A-d-l source route ("@a,@b:user@c"): accepted and ignored (RFC 5321 section 4.1.1.3, appendix C).
  if (path.startsWith('@')) {
    const colon = path.indexOf(':');
    if (
      colon < 0 ||
      !path
        .slice(0, colon)
        .split(',')
        .every((hop) => hop.startsWith('@') && isDomain(hop.slice(1)))
    ) {
      return fail(REPLY.badSourceRoute);
    }
    path = path.slice(colon + 1);
  }
  const params = new Map<string, string | undefined>();
  if (rest.length > 0) {
    if (!rest.startsWith(' ')) return fail(REPLY.spaceBeforeParameters);
    for (const p of rest.slice(1).split(' ')) {
      if (p.length === 0) continue;
      const eq = p.indexOf('=');
      const key = (eq < 0 ? p : p.slice(0, eq)).toUpperCase();
      const value = eq < 0 ? undefined : p.slice(eq + 1);
      if (!KEYWORD.test(key) || (value !== undefined && !VALUE.test(value))) return fail(REPLY.malformedParameter(p));
      if (params.has(key)) return fail(REPLY.parameterTwice(key));
      params.set(key, value);
    }
  }
  if (path.length === 0) {
    if (keyword === 'FROM') return { ok: true, mailbox: null, postmaster: false, params };
    return fail(REPLY.emptyRecipient);
  }
  if (keyword === 'TO' && path.toLowerCase() === 'postmaster') return { ok: true, mailbox: null, postmaster: true, params };
  const mailbox = parseMailbox(path);
  if (!mailbox) return fail(REPLY.badAddress(keyword));
  return { ok: true, mailbox, postmaster: false, params };
}
