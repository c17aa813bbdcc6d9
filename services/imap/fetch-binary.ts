// FETCH BINARY[part]<partial>, BINARY.PEEK and BINARY.SIZE (RFC 3516 section 4.2): a leaf part's body
// with its Content-Transfer-Encoding removed. BINARY[] is the whole message and a multipart or
// message/rfc822 part is its body unchanged (nothing to decode), as Dovecot answers. Data holding NUL
// octets goes out as a literal8 (~{n}); an encoding we cannot decode fails the command with
// NO [UNKNOWN-CTE]. A part's decoded octets are kept for the rest of the FETCH of that message (one
// decode for BINARY.SIZE and BINARY together), in a WeakMap dropped with the parsed MIME tree.
import { partialOf, resolvePart } from './fetch-body-section.js';
import type { FetchItem } from './fetch-items.js';
import { no } from './imap-errors.js';
import { headerValue, type MimePart } from './mime.js';
import { decodeTransfer } from './transfer-decode.js';

const decoded = new WeakMap<MimePart, Buffer>();

/** The decoded octets of the part `path` addresses; undefined when there is no such part. */
export function binaryPart(raw: Buffer, root: () => MimePart, path: readonly number[]): Buffer | undefined {
  if (path.length === 0) return raw;
  const r = resolvePart(root(), [...path]);
  if (!r) return undefined;
  const { part } = r;
  if (part.parts || part.message) return raw.subarray(part.bodyStart, part.end);
  let out = decoded.get(part);
  if (out === undefined) {
    out = decodeTransfer(raw.subarray(part.bodyStart, part.end), headerValue(part, 'content-transfer-encoding'));
    if (out === undefined) throw no(`Part ${path.join('.')} has a Content-Transfer-Encoding the server cannot decode`, 'UNKNOWN-CTE');
    decoded.set(part, out);
  }
  return out;
}

/** Renders one BINARY or BINARY.SIZE item into `out`. */
export function renderBinary(item: Extract<FetchItem, { k: 'SECTION' }>, raw: Buffer, root: () => MimePart, out: Array<string | Buffer>): void {
  const text = item.section.text;
  let data = binaryPart(raw, root, item.section.path) ?? Buffer.alloc(0);
  if (item.binary === 'size') {
    out.push(`BINARY.SIZE[${text}] ${data.length}`);
    return;
  }
  let origin = '';
  if (item.partial) {
    data = partialOf(data, item.partial.offset, item.partial.length);
    origin = `<${item.partial.offset}>`;
  }
  // RFC 3516 section 4.2: literal8 when the data holds NUL (a plain literal cannot carry it).
  out.push(`BINARY[${text}]${origin} ${data.includes(0) ? '~' : ''}{${data.length}}\r\n`, data);
}
