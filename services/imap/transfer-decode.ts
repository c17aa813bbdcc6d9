// Content-Transfer-Encoding decoding for FETCH BINARY (RFC 3516 section 4.2; encodings of RFC 2045
// section 6): base64 and quoted-printable decoded octet by octet straight from the stored part into
// one output buffer. Both decodings only shrink, so the output is allocated once at the input's
// length and cut to size: memory is bounded by the part itself, with no intermediate strings.

/** The identity encodings: nothing to decode. */
const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * base64 (RFC 2045 section 6.8): characters outside the alphabet (line breaks, spaces) are ignored,
 * decoding stops at the first "=" pad. A dangling single character is dropped.
 */
export function decodeBase64(src: Buffer): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((src.length * 3) / 4));
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === 0x3d) break;
    const v = B64[c];
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * quoted-printable (RFC 2045 section 6.7): "=XX" is one octet, "=" at the end of a line (after
 * optional transport padding) is a soft line break, trailing spaces and tabs of a line are dropped
 * (rule 3), every hard line break (CRLF or a bare LF) becomes CRLF. An "=" not followed by two hex
 * digits is kept as it is (rule 1's robustness note).
 */
export function decodeQuotedPrintable(src: Buffer): Buffer {
  // At most one octet out per octet in, plus a CR for each bare LF.
  let lfs = 0;
  for (let i = src.indexOf(0x0a); i >= 0; i = src.indexOf(0x0a, i + 1)) lfs++;
  const out = Buffer.allocUnsafe(src.length + lfs);
  let n = 0;
  let lineStart = 0;
  while (lineStart < src.length) {
    let lf = src.indexOf(0x0a, lineStart);
    const hard = lf >= 0;
    if (!hard) lf = src.length;
    // The line without its CRLF/LF and without trailing white space.
    let end = lf > lineStart && hard && src[lf - 1] === 0x0d ? lf - 1 : lf;
    while (end > lineStart && (src[end - 1] === 0x20 || src[end - 1] === 0x09)) end--;
    let soft = false;
    for (let i = lineStart; i < end; i++) {
      const c = src[i];
      if (c !== 0x3d) {
        out[n++] = c;
        continue;
      }
      if (i === end - 1) {
        soft = true;
        break;
      }
      const hi = hexValue(src[i + 1]);
      const lo = i + 2 < end ? hexValue(src[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
      } else out[n++] = c;
    }
    if (hard && !soft) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
    }
    lineStart = lf + 1;
  }
  return out.subarray(0, n);
}

/** Decodes `body` per its Content-Transfer-Encoding; undefined for an encoding we do not know ([UNKNOWN-CTE]). */
export function decodeTransfer(body: Buffer, encoding: string | undefined): Buffer | undefined {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (IDENTITY.has(enc)) return body;
  if (enc === 'base64') return decodeBase64(body);
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return undefined;
}
