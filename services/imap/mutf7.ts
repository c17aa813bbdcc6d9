// Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3): printable ASCII stands for itself
// except "&", written "&-"; other characters are UTF-16 in modified base64 ("," for "/") between
// "&" and "-".

export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((u, i) => bytes.writeUInt16BE(u, i * 2));
    out += `&${bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0x20 && u <= 0x7e) {
      flush();
      out += u === 0x26 ? '&-' : name[i];
    } else pending.push(u);
  }
  flush();
  return out;
}

/** Decodes a modified UTF-7 name; undefined when it is not valid modified UTF-7. */
export function decodeMutf7(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return undefined;
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end < 0) return undefined;
    const b64 = text.slice(i + 1, end);
    i = end;
    if (b64.length === 0) {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return undefined;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) return undefined;
    for (let j = 0; j < bytes.length; j += 2) out += String.fromCharCode(bytes.readUInt16BE(j));
  }
  return out;
}

/**
 * A mailbox name as a client sent it: clients that did not ENABLE UTF8 send modified UTF-7, but
 * some send raw UTF-8; accept both. After ENABLE UTF8=ACCEPT or IMAP4rev2 (`utf8`) names are UTF-8
 * and "&" is just "&" (RFC 6855 section 3).
 */
export function mailboxFromWire(text: string, utf8 = false): string {
  if (utf8 || /[^\x20-\x7e]/.test(text)) return text;
  return decodeMutf7(text) ?? text;
}
