// Serialising IMAP data (RFC 3501 section 4): every response string is a "binary string" (one char
// per octet, latin1), so 8-bit header bytes pass through unchanged. A string that cannot be quoted
// (CR, LF, NUL, 8-bit, very long) becomes a literal.

/** One char per octet of `text`'s UTF-8 form. */
export function binary(text: string): string {
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** A quoted string or a literal, for a binary string. */
export function str(s: string): string {
  // Strings with " or \ go as literals too (as Dovecot does): some clients mishandle escapes.
  if (s.length < 1024 && !/[\r\n\x00"\\\x80-\xff]/.test(s)) return `"${s}"`;
  return `{${s.length}}\r\n${s}`;
}

/** nstring: NIL for null/undefined. */
export function nstr(s: string | null | undefined): string {
  return s === null || s === undefined ? 'NIL' : str(s);
}

/** astring: an atom when possible (mailbox names in LIST look nicer), else quoted or literal. */
export function astr(s: string): string {
  if (s.length > 0 && s.length < 256 && s.toUpperCase() !== 'NIL' && /^[\x21-\x7e]+$/.test(s) && !/[(){ %*"\\\]]/.test(s)) return s;
  return str(s);
}

export function list(items: readonly string[]): string {
  return `(${items.join(' ')})`;
}

/** An untagged STATUS response (RFC 3501 section 7.2.4): the items asked for, in their order. */
export function statusResponse(mailbox: string, items: readonly string[], values: Readonly<Record<string, number>>): string {
  return `* STATUS ${mailbox} (${items.map((i) => `${i} ${values[i]}`).join(' ')})`;
}
