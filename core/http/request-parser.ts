// The HTTP/1.1 request head parser (RFC 9112 sections 2-3 and 5-6, RFC 9110 section 5). It takes the
// head the framer found (`LineFramer.readHead`: everything up to the empty line) and parses it in one
// pass over a latin1 string: no regular expressions, one object per request. Anything that makes the
// message framing ambiguous is an error that closes the connection (RFC 9112 section 11.2, request
// smuggling): Content-Length together with Transfer-Encoding, differing Content-Length values, a
// Transfer-Encoding whose final coding is not chunked, Transfer-Encoding in HTTP/1.0, obs-fold lines,
// whitespace between a field name and its colon, a missing Host in HTTP/1.1, a bad Content-Length.
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './limits.js';

/** A request that cannot be served; `close` when the framing of what follows is unknown. */
export class HttpParseError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly close: boolean = true,
  ) {
    super(message);
    this.name = 'HttpParseError';
  }
}

export class HttpRequest {
  method = '';
  /** The request-target as sent. */
  target = '';
  /** Path part of the target (origin-form, or extracted from absolute-form), still percent-encoded. */
  rawPath = '';
  /** Query without the '?', or ''. */
  query = '';
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version = 11;
  requestLine = '';
  /** Header fields as sent, flat: name, value, name, value... (names in their original case). */
  readonly fields: string[] = [];
  host: string | undefined = undefined;
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  expectContinue = false;
  ifNoneMatch: string | undefined = undefined;
  ifModifiedSince: string | undefined = undefined;
  range: string | undefined = undefined;
  ifRange: string | undefined = undefined;
  accept: string | undefined = undefined;
  /** A problem that does not upset the framing (417, bad target form): answer it, keep the connection. */
  reject: HttpParseError | undefined = undefined;

  get hasBody(): boolean {
    return this.chunked || this.contentLength > 0;
  }

  /** First value of a field by lower-case name. */
  get(name: string): string | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i].toLowerCase() === name) return f[i + 1];
    return undefined;
  }
}

// tchar (RFC 9110 section 5.6.2): "!#$%&'*+-.^_`|~" DIGIT ALPHA.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

// Host (RFC 9110 section 7.2, RFC 3986 section 3.2.2): reg-name, IP literal and port characters.
const HOSTCHAR = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:[]%") HOSTCHAR[c.charCodeAt(0)] = 1;

function isHost(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (HOSTCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** field-value characters (RFC 9110 section 5.5): VCHAR, obs-text, SP, HTAB; never other CTLs. */
function badValueChar(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** request-target characters: visible US-ASCII only (RFC 3986 plus the '%' escapes). */
function badTargetChar(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return true;
  }
  return false;
}

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Content-Length (RFC 9110 section 8.6): 1*DIGIT, or a list of identical values. -2 when invalid. */
function parseContentLength(v: string): number {
  if (isDigits(v)) return Number(v);
  if (v.indexOf(',') < 0) return -2;
  let n = -1;
  for (const part of v.split(',')) {
    const p = part.trim();
    if (!isDigits(p)) return -2;
    const x = Number(p);
    if (n >= 0 && x !== n) return -2;
    n = x;
  }
  return n;
}

function trimOws(s: string, from: number, to: number): [number, number] {
  while (from < to && (s.charCodeAt(from) === 0x20 || s.charCodeAt(from) === 0x09)) from++;
  while (to > from && (s.charCodeAt(to - 1) === 0x20 || s.charCodeAt(to - 1) === 0x09)) to--;
  return [from, to];
}

/** Lower-cases an ASCII header name only when needed (most clients send one fixed casing). */
function lowerName(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.toLowerCase();
  }
  return s;
}

/**
 * The method token s[from, to): the constant string for GET, HEAD and POST (the site looks every
 * method up in a set and compares it; a constant's hash is computed once, a fresh slice's on every
 * request), a slice for any other. Methods are case-sensitive (RFC 9110 section 9.1).
 */
function methodName(s: string, from: number, to: number): string {
  const n = to - from;
  if (n === 3 && s.startsWith('GET', from)) return 'GET';
  if (n === 4) {
    if (s.startsWith('HEAD', from)) return 'HEAD';
    if (s.startsWith('POST', from)) return 'POST';
  }
  return s.slice(from, to);
}

/**
 * Parses one request head. Returns null when the head holds nothing but empty lines (RFC 9112
 * section 2.2: a server SHOULD ignore at least one empty line before the request line).
 */
export function parseRequestHead(
  head: Buffer,
  limits: Pick<HttpLimits, 'maxRequestLineBytes' | 'maxHeaderCount'> = DEFAULT_HTTP_LIMITS,
): HttpRequest | HttpParseError | null {
  const s = head.toString('latin1');
  const len = s.length;
  let pos = 0;
  // Skip empty lines before the request line.
  for (;;) {
    if (pos < len && s.charCodeAt(pos) === 0x0a) pos++;
    else if (pos + 1 < len && s.charCodeAt(pos) === 0x0d && s.charCodeAt(pos + 1) === 0x0a) pos += 2;
    else break;
  }
  if (pos >= len) return null;

  // Request line: method SP request-target SP HTTP-version (RFC 9112 section 3).
  let eol = s.indexOf('\n', pos);
  if (eol < 0) eol = len;
  let lineEnd = eol > pos && s.charCodeAt(eol - 1) === 0x0d ? eol - 1 : eol;
  if (lineEnd - pos > limits.maxRequestLineBytes) return new HttpParseError(414, `request line longer than ${limits.maxRequestLineBytes} octets`);
  const sp1 = s.indexOf(' ', pos);
  if (sp1 < 0 || sp1 >= lineEnd) return new HttpParseError(400, 'malformed request line: expected "METHOD target HTTP/1.1"');
  const sp2 = s.indexOf(' ', sp1 + 1);
  if (sp2 < 0 || sp2 >= lineEnd) return new HttpParseError(400, 'malformed request line: expected "METHOD target HTTP/1.1"');
  if (!isToken(s, pos, sp1)) return new HttpParseError(400, 'malformed request line: the method is not a token');
  const req = new HttpRequest();
  req.requestLine = s.slice(pos, lineEnd);
  req.method = methodName(s, pos, sp1);
  const vlen = lineEnd - sp2 - 1;
  if (vlen === 8 && s.startsWith('HTTP/1.', sp2 + 1)) {
    const minor = s.charCodeAt(sp2 + 8);
    if (minor === 0x31) req.version = 11;
    else if (minor === 0x30) req.version = 10;
    else if (minor >= 0x30 && minor <= 0x39)
      req.version = 11; // HTTP/1.x, x > 1: answer as 1.1 (RFC 9110 section 6.2)
    else return new HttpParseError(400, 'malformed request line: bad HTTP version');
  } else {
    const v = s.slice(sp2 + 1, lineEnd);
    if (
      v.length === 8 &&
      v.startsWith('HTTP/') &&
      v.charCodeAt(6) === 0x2e &&
      v.charCodeAt(5) >= 0x30 &&
      v.charCodeAt(5) <= 0x39 &&
      v.charCodeAt(7) >= 0x30 &&
      v.charCodeAt(7) <= 0x39
    ) {
      return new HttpParseError(505, `${v} is not supported; this server speaks HTTP/1.1 and HTTP/1.0`);
    }
    return new HttpParseError(400, 'malformed request line: expected "METHOD target HTTP/1.1"');
  }
  if (badTargetChar(s, sp1 + 1, sp2)) return new HttpParseError(400, 'malformed request line: the target contains spaces or control characters');
  const target = s.slice(sp1 + 1, sp2);
  req.target = target;

  // Header fields (RFC 9112 section 5).
  let count = 0;
  let te: string | undefined;
  let connection: string | undefined;
  pos = eol + 1;
  const fields = req.fields;
  while (pos < len) {
    eol = s.indexOf('\n', pos);
    if (eol < 0) eol = len;
    lineEnd = eol > pos && s.charCodeAt(eol - 1) === 0x0d ? eol - 1 : eol;
    if (lineEnd === pos) break; // the empty line
    const first = s.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) return new HttpParseError(400, 'obsolete line folding (a header line starting with whitespace) is not accepted');
    if (++count > limits.maxHeaderCount) return new HttpParseError(431, `more than ${limits.maxHeaderCount} header fields`);
    const colon = s.indexOf(':', pos);
    if (colon < 0 || colon >= lineEnd)
      return new HttpParseError(400, `malformed header line (no colon): ${JSON.stringify(s.slice(pos, Math.min(lineEnd, pos + 60)))}`);
    if (!isToken(s, pos, colon)) {
      const c = s.charCodeAt(colon - 1);
      if (colon > pos && (c === 0x20 || c === 0x09)) return new HttpParseError(400, 'whitespace between a header field name and its colon');
      return new HttpParseError(400, `malformed header field name: ${JSON.stringify(s.slice(pos, Math.min(colon, pos + 60)))}`);
    }
    const [vs, ve] = trimOws(s, colon + 1, lineEnd);
    if (badValueChar(s, vs, ve)) return new HttpParseError(400, `control character in the value of header ${s.slice(pos, colon)}`);
    const name = s.slice(pos, colon);
    const value = s.slice(vs, ve);
    fields.push(name, value);
    pos = eol + 1;
    const lname = lowerName(name);
    switch (lname) {
      case 'host':
        // RFC 9112 section 3.2: more than one Host -> 400.
        if (req.host !== undefined) return new HttpParseError(400, 'more than one Host header');
        if (!isHost(value)) return new HttpParseError(400, `invalid Host header: ${JSON.stringify(value.slice(0, 60))}`);
        req.host = value;
        break;
      case 'content-length': {
        const n = parseContentLength(value);
        if (n === -2) return new HttpParseError(400, `invalid Content-Length: ${JSON.stringify(value.slice(0, 40))}`);
        if (req.contentLength >= 0 && req.contentLength !== n) return new HttpParseError(400, 'differing Content-Length values');
        req.contentLength = n;
        break;
      }
      case 'transfer-encoding':
        te = te === undefined ? value : `${te}, ${value}`;
        break;
      case 'connection':
        connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case 'expect':
        if (value.toLowerCase() === '100-continue') req.expectContinue = true;
        else req.reject ??= new HttpParseError(417, `unsupported expectation: ${JSON.stringify(value.slice(0, 40))}`, false);
        break;
      case 'if-none-match':
        req.ifNoneMatch = value;
        break;
      case 'if-modified-since':
        req.ifModifiedSince = value;
        break;
      case 'range':
        req.range = value;
        break;
      case 'if-range':
        req.ifRange = value;
        break;
      case 'accept':
        req.accept = value;
        break;
    }
  }

  if (te !== undefined) {
    // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is suspect (a 1.0 intermediary would
    // ignore it); section 6.3: with Content-Length too, or without chunked as the final coding, the
    // body length cannot be determined reliably.
    if (req.version === 10) return new HttpParseError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (req.contentLength >= 0) return new HttpParseError(400, 'both Content-Length and Transfer-Encoding');
    const codings = te.split(',');
    const last = codings[codings.length - 1].trim().toLowerCase();
    if (last !== 'chunked') return new HttpParseError(400, `Transfer-Encoding must end in chunked, got ${JSON.stringify(te.slice(0, 40))}`);
    if (codings.length > 1) {
      const others = codings.slice(0, -1).map((c) => c.trim().toLowerCase());
      if (others.includes('chunked')) return new HttpParseError(400, 'chunked applied more than once');
      return new HttpParseError(501, `unsupported transfer coding ${JSON.stringify(others.join(', ').slice(0, 40))}; only chunked is implemented`);
    }
    req.chunked = true;
  }
  if (req.version === 11 && req.host === undefined) return new HttpParseError(400, 'an HTTP/1.1 request must have a Host header');

  // Persistence (RFC 9112 section 9.3).
  if (connection !== undefined) {
    const c = connection.toLowerCase();
    const close = c === 'close' || (c.length > 5 && hasToken(c, 'close'));
    const keep = c === 'keep-alive' || (c.length > 10 && hasToken(c, 'keep-alive'));
    req.keepAlive = close ? false : req.version === 11 || keep;
  } else {
    req.keepAlive = req.version === 11;
  }

  // Request target forms (RFC 9112 section 3.2).
  const c0 = target.charCodeAt(0);
  if (c0 === 0x2f) {
    splitTarget(req, target, 0);
  } else if (target === '*') {
    if (req.method !== 'OPTIONS') req.reject ??= new HttpParseError(400, 'the asterisk target "*" is only for OPTIONS', false);
    req.rawPath = '*';
  } else if (req.method === 'CONNECT') {
    req.rawPath = target; // authority-form; CONNECT is refused later anyway
  } else {
    const schemeEnd = target.indexOf('://');
    const scheme = schemeEnd > 0 ? target.slice(0, schemeEnd).toLowerCase() : '';
    if (scheme !== 'http' && scheme !== 'https') {
      req.reject ??= new HttpParseError(400, 'the request target must start with "/" (or be an absolute http URL)', false);
      return req;
    }
    const slash = target.indexOf('/', schemeEnd + 3);
    if (slash < 0) {
      req.rawPath = '/';
      const q = target.indexOf('?', schemeEnd + 3);
      if (q >= 0) req.query = target.slice(q + 1);
    } else splitTarget(req, target, slash);
  }
  if (target.indexOf('#') >= 0) req.reject ??= new HttpParseError(400, 'a fragment ("#") is not allowed in a request target', false);
  return req;
}

function splitTarget(req: HttpRequest, target: string, from: number): void {
  const q = target.indexOf('?', from);
  if (q < 0) req.rawPath = from === 0 ? target : target.slice(from);
  else {
    req.rawPath = target.slice(from, q);
    req.query = target.slice(q + 1);
  }
}

function hasToken(list: string, token: string): boolean {
  for (const part of list.split(',')) if (part.trim() === token) return true;
  return false;
}
