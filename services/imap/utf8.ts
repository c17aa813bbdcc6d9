// UTF-8 on the wire (RFC 6855 UTF8=ACCEPT, RFC 9051 section 4.3.1): after ENABLE a client may send
// UTF-8 in quoted strings; octets with the high bit set that are not well-formed UTF-8 (RFC 3629
// section 4: no overlong forms, no surrogates, nothing above U+10FFFF) are refused with BAD, and
// mailbox names must be Net-Unicode without control or separator characters (RFC 6855 section 3).
import { isUtf8 } from 'node:buffer';
import type { Token } from './command-parser.js';
import { bad } from './imap-errors.js';

/**
 * Whether `buf` is well-formed UTF-8 (plain ASCII and empty are): Node's own validator
 * (buffer.isUtf8), which refuses what RFC 3629 refuses, without decoding into a string.
 */
export const isValidUtf8: (buf: Uint8Array) => boolean = isUtf8;

/**
 * Every string in `tokens` (lists walked to the parser's bounded depth) is well-formed UTF-8. Atoms
 * were decoded by the parser already: one that held invalid UTF-8 carries U+FFFD.
 */
export function requireUtf8(tokens: readonly Token[], what: string): void {
  for (const t of tokens) {
    if (t.t === 'list') requireUtf8(t.v, what);
    else if (t.t === 'string' ? !t.binary && !isValidUtf8(t.v) : t.v.includes('\uFFFD')) {
      throw bad(`${what}: invalid UTF-8 (RFC 3629; RFC 6855 section 3 requires BAD)`);
    }
  }
}

/**
 * A mailbox name's characters (RFC 6855 section 3, RFC 5198 section 2): no controls U+0000-U+001F
 * and U+0080-U+009F, no DEL, no line or paragraph separator, and no U+FFFD (what invalid UTF-8
 * decodes to).
 */
export function checkMailboxChars(name: string): void {
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
    throw bad('mailbox name: control, line or paragraph separator characters are not allowed (RFC 6855 section 3)');
  if (name.includes('\uFFFD')) throw bad('mailbox name: invalid UTF-8 (RFC 3629)');
}
