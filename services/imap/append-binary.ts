// APPEND of binary data (RFC 3516 section 4.4): a message sent as a literal8 may hold NUL octets,
// which no plain literal (BODY[], RFC822) can carry back. Before storing, every leaf part whose body
// holds a NUL is re-encoded as base64 (its Content-Transfer-Encoding field replaced), so BODY[] stays
// a valid literal and FETCH BINARY[] gives back exactly the octets the client appended. Messages
// without NUL octets are stored as sent. The MIME parse is bounded (IMAP_LIMITS.maxMimeParts/Depth).
import { rawFields } from './fetch-body-section.js';
import { parseMime, type MimePart } from './mime.js';

function leaves(p: MimePart, out: MimePart[]): MimePart[] {
  if (p.parts) for (const c of p.parts) leaves(c, out);
  else if (p.message) leaves(p.message, out);
  else out.push(p);
  return out;
}

/** base64 in lines of 76 characters (RFC 2045 section 6.8), each ended by CRLF. */
function base64Lines(data: Buffer): Buffer {
  const text = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1');
}

/** The message with every leaf part holding NUL octets re-encoded as base64; `raw` itself when there is none. */
export function encodeBinaryParts(raw: Buffer): Buffer {
  if (!raw.includes(0)) return raw;
  const chunks: Buffer[] = [];
  let at = 0;
  for (const part of leaves(parseMime(raw), [])) {
    const body = raw.subarray(part.bodyStart, part.end);
    if (!body.includes(0) || part.start < at) continue;
    chunks.push(raw.subarray(at, part.start));
    for (const [name, s, e] of rawFields(raw, part.start, part.headerEnd)) {
      if (name === 'content-transfer-encoding') continue;
      chunks.push(raw.subarray(s, e));
      if (raw[e - 1] !== 0x0a) chunks.push(Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from('Content-Transfer-Encoding: base64\r\n\r\n'));
    chunks.push(base64Lines(body));
    at = part.end;
  }
  chunks.push(raw.subarray(at));
  return Buffer.concat(chunks);
}
