// Request paths to file names without ever leaving a root. The path is percent-decoded once (RFC 3986
// section 2.1); an encoded "/" or "\" (%2F, %5C) or a NUL is refused rather than interpreted, dot
// segments are removed (RFC 3986 section 5.2.4) and one that would climb above the root is an
// error. The file actually opened is checked again after realpath() so a symlink cannot point out.
import { HttpParseError } from './request-parser.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** The decoded, normalised path ("/a/b.txt", "/dir/"), or a 400 saying what was wrong. */
export function decodePath(raw: string): string | HttpParseError {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return new HttpParseError(400, 'the path must start with "/"', false);
  if (raw.indexOf('%') < 0 && raw.indexOf('/.') < 0 && raw.indexOf('//') < 0 && raw.indexOf('\\') < 0) return raw;
  let decoded = raw;
  if (raw.indexOf('%') >= 0) {
    const bytes = Buffer.allocUnsafe(raw.length);
    let n = 0;
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c !== 0x25) {
        bytes[n++] = c;
        continue;
      }
      const h = i + 2 < raw.length ? hex(raw.charCodeAt(i + 1)) : -1;
      const l = i + 2 < raw.length ? hex(raw.charCodeAt(i + 2)) : -1;
      if (h < 0 || l < 0) return new HttpParseError(400, 'malformed percent-encoding in the path', false);
      const b = h * 16 + l;
      if (b === 0x2f || b === 0x5c) return new HttpParseError(400, 'an encoded slash (%2F or %5C) in the path is not allowed', false);
      if (b === 0) return new HttpParseError(400, 'a NUL (%00) in the path is not allowed', false);
      bytes[n++] = b;
      i += 2;
    }
    try {
      decoded = utf8.decode(bytes.subarray(0, n));
    } catch {
      return new HttpParseError(400, 'the decoded path is not valid UTF-8', false);
    }
  }
  if (decoded.indexOf('\\') >= 0) return new HttpParseError(400, 'a backslash in the path is not allowed', false);
  // Dot-segment removal; empty segments ("//") collapse.
  const parts = decoded.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length === 0) return new HttpParseError(400, 'the path climbs above the document root ("..")', false);
      out.pop();
      continue;
    }
    out.push(p);
  }
  const last = parts[parts.length - 1];
  const trailing = last === '' || last === '.' || last === '..';
  return out.length === 0 ? '/' : `/${out.join('/')}${trailing ? '/' : ''}`;
}

/** True when `real` (a realpath) is `root` or inside it. */
export function isInside(root: string, real: string): boolean {
  return real === root || (real.startsWith(root) && real.charCodeAt(root.length) === 0x2f);
}
