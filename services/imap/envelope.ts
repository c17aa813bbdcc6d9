// ENVELOPE (RFC 3501 section 7.4.2) from RFC 5322 header fields. Values are the header's octets:
// encoded words stay encoded (the client decodes them), group syntax becomes the (NIL NIL "name" NIL)
// ... (NIL NIL NIL NIL) markers.
import { headerValue, stripComments, type HeaderField } from './mime.js';
import { list, nstr } from './imap-writer.js';

export interface Address {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

type Tok = { k: 'word'; v: string } | { k: 'quoted'; v: string } | { k: 'angle'; v: string } | { k: 'special'; v: string } | { k: 'comment'; v: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i];
        i++;
      }
      i++;
      out.push({ k: 'quoted', v });
    } else if (c === '(') {
      // A comment (nested, with quoted pairs); "user@host (Real Name)" makes it the display name.
      let depth = 0;
      let v = '';
      for (; i < s.length; i++) {
        const x = s[i];
        if (x === '\\' && i + 1 < s.length) {
          if (depth > 0) v += s[i + 1];
          i++;
        } else if (x === '(') {
          if (depth++ > 0) v += x;
        } else if (x === ')') {
          if (--depth === 0) {
            i++;
            break;
          }
          v += x;
        } else v += x;
      }
      out.push({ k: 'comment', v: v.trim().replace(/\s+/g, ' ') });
    } else if (c === '<') {
      const e = s.indexOf('>', i);
      const v = s.slice(i + 1, e < 0 ? s.length : e);
      i = e < 0 ? s.length : e + 1;
      out.push({ k: 'angle', v: stripComments(v).replace(/\s+/g, '') });
    } else if (c === ',' || c === ':' || c === ';') {
      out.push({ k: 'special', v: c });
      i++;
    } else {
      let v = '';
      while (i < s.length && !' \t\r\n",:;<('.includes(s[i])) v += s[i++];
      out.push({ k: 'word', v });
    }
  }
  return out;
}

function splitAddr(addr: string, name: string | null): Address {
  let adl: string | null = null;
  let spec = addr;
  // Obsolete source route: "@a,@b:user@host".
  const route = /^(@[^:]+):(.*)$/.exec(spec);
  if (route) {
    adl = route[1]!;
    spec = route[2]!;
  }
  const at = spec.lastIndexOf('@');
  let mailbox = at < 0 ? spec : spec.slice(0, at);
  let host = at < 0 ? '' : spec.slice(at + 1);
  if (mailbox.startsWith('"') && mailbox.endsWith('"') && mailbox.length >= 2) mailbox = mailbox.slice(1, -1);
  // Dovecot's convention for broken addresses; NIL host would read as a group marker.
  if (mailbox === '') mailbox = 'MISSING_MAILBOX';
  if (host === '') host = 'MISSING_DOMAIN';
  return { name, adl, mailbox, host };
}

/** An RFC 5322 address-list as ENVELOPE addresses (group markers included). */
export function parseAddressList(raw: string): Address[] {
  const toks = tokenize(raw);
  const out: Address[] = [];
  let phrase: Tok[] = [];
  let angle: string | undefined;
  let comment: string | undefined;
  let inGroup = false;
  const finish = (): void => {
    if (angle !== undefined) {
      const name = phrase.map((t) => t.v).join(' ');
      if (angle.length > 0) out.push(splitAddr(angle, name.length > 0 ? name : null));
    } else if (phrase.length > 0) {
      const spec = phrase.map((t) => (t.k === 'quoted' ? `"${t.v}"` : t.v)).join('');
      out.push(splitAddr(spec, comment !== undefined && comment.length > 0 ? comment : null));
    }
    phrase = [];
    angle = undefined;
    comment = undefined;
  };
  for (const t of toks) {
    if (t.k === 'comment') {
      comment = t.v;
    } else if (t.k === 'special') {
      if (t.v === ':' && !inGroup && angle === undefined) {
        out.push({ name: null, adl: null, mailbox: phrase.map((p) => p.v).join(' '), host: null });
        phrase = [];
        inGroup = true;
      } else if (t.v === ';' && inGroup) {
        finish();
        out.push({ name: null, adl: null, mailbox: null, host: null });
        inGroup = false;
      } else if (t.v === ',') finish();
      else phrase.push({ k: 'word', v: t.v });
    } else if (t.k === 'angle') angle = t.v;
    else phrase.push(t);
  }
  finish();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}

function addrList(raw: string | undefined): string {
  if (raw === undefined) return 'NIL';
  const addrs = parseAddressList(raw);
  if (addrs.length === 0) return 'NIL';
  // No SP between addresses: env-from = "(" 1*address ")" (RFC 3501 section 9).
  return `(${addrs.map((a) => list([nstr(a.name), nstr(a.adl), nstr(a.mailbox), nstr(a.host)])).join('')})`;
}

/** The ENVELOPE structure of a message (or of an encapsulated message/rfc822). */
export function envelope(headers: HeaderField[] | ((key: string) => string | undefined)): string {
  const h = typeof headers === 'function' ? headers : (k: string): string | undefined => headerValue({ headers }, k);
  const from = addrList(h('from'));
  // Section 7.4.2: the server sets Sender and Reply-To to From when they are absent, and an empty
  // field (no address in it) counts as absent.
  const or = (v: string): string => (v === 'NIL' ? from : v);
  return list([
    nstr(h('date')),
    nstr(h('subject')),
    from,
    or(addrList(h('sender'))),
    or(addrList(h('reply-to'))),
    addrList(h('to')),
    addrList(h('cc')),
    addrList(h('bcc')),
    nstr(h('in-reply-to')),
    nstr(h('message-id')),
  ]);
}
