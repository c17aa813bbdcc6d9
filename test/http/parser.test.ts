// Unit and property tests of the HTTP/1.1 request parser, the chunked body reader, path decoding and
// range parsing.
import test from 'ava';
import fc from 'fast-check';
import { LineFramer } from '../../core/line-framer.js';
import { parseChunkSizeLine, readRequestBody } from '../../core/http/body.js';
import { DEFAULT_HTTP_LIMITS } from '../../core/http/limits.js';
import { decodePath, isInside } from '../../core/http/paths.js';
import { HttpParseError, HttpRequest, parseRequestHead } from '../../core/http/request-parser.js';
import { etagMatches, parseRange } from '../../core/http/static-handler.js';

function parse(text: string): HttpRequest | HttpParseError | null {
  return parseRequestHead(Buffer.from(text, 'latin1'));
}

function ok(text: string): HttpRequest {
  const r = parse(text);
  if (!(r instanceof HttpRequest)) throw new Error(`expected a request, got ${JSON.stringify(r)}`);
  return r;
}

function err(text: string): HttpParseError {
  const r = parse(text);
  if (!(r instanceof HttpParseError)) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r;
}

test('parses a simple GET', (t) => {
  const r = ok('GET /a/b.txt?x=1 HTTP/1.1\r\nHost: lab.test\r\nAccept: */*\r\n\r\n');
  t.is(r.method, 'GET');
  t.is(r.target, '/a/b.txt?x=1');
  t.is(r.rawPath, '/a/b.txt');
  t.is(r.query, 'x=1');
  t.is(r.version, 11);
  t.is(r.host, 'lab.test');
  t.true(r.keepAlive);
  t.false(r.hasBody);
  t.deepEqual(r.fields, ['Host', 'lab.test', 'Accept', '*/*']);
  t.is(r.get('accept'), '*/*');
  t.is(r.requestLine, 'GET /a/b.txt?x=1 HTTP/1.1');
});

test('accepts bare LF line endings and leading empty lines', (t) => {
  const r = ok('\r\n\nGET / HTTP/1.1\nHost: x\n\n');
  t.is(r.method, 'GET');
  t.is(r.host, 'x');
  t.is(parse('\r\n\r\n'), null);
});

test('persistence: HTTP/1.0 keeps alive only when asked, Connection: close ends 1.1', (t) => {
  t.false(ok('GET / HTTP/1.0\r\n\r\n').keepAlive);
  t.true(ok('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive);
  t.false(ok('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').keepAlive);
  t.false(ok('GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, close\r\n\r\n').keepAlive);
  t.true(ok('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n').keepAlive);
  t.is(ok('GET / HTTP/1.0\r\n\r\n').version, 10);
});

test('body framing: Content-Length, identical lists, chunked', (t) => {
  t.is(ok('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n').contentLength, 12);
  t.is(ok('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n').contentLength, 5);
  const c = ok('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n');
  t.true(c.chunked);
  t.true(c.hasBody);
  t.true(ok('PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n').expectContinue);
});

test('target forms: absolute-form, asterisk, authority-form for CONNECT', (t) => {
  const a = ok('GET http://lab.test:8080/x/y?q HTTP/1.1\r\nHost: lab.test\r\n\r\n');
  t.is(a.rawPath, '/x/y');
  t.is(a.query, 'q');
  t.is(ok('GET http://lab.test HTTP/1.1\r\nHost: lab.test\r\n\r\n').rawPath, '/');
  t.is(ok('OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n').rawPath, '*');
  t.is(ok('GET * HTTP/1.1\r\nHost: x\r\n\r\n').reject?.status, 400);
  t.is(ok('CONNECT lab.test:443 HTTP/1.1\r\nHost: lab.test:443\r\n\r\n').rawPath, 'lab.test:443');
  t.is(ok('GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n').reject?.status, 400);
  t.is(ok('GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n').reject?.status, 400);
  t.is(ok('GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n').reject?.status, 417);
});

test('malformed request lines', (t) => {
  t.is(err('GET /\r\n\r\n').status, 400);
  t.is(err('GET  / HTTP/1.1\r\nHost: x\r\n\r\n').status, 400);
  t.is(err('GET / HTTP/1.1 \r\nHost: x\r\n\r\n').status, 400);
  t.is(err('G(T / HTTP/1.1\r\nHost: x\r\n\r\n').status, 400);
  t.is(err('GET / FTP/1.1\r\nHost: x\r\n\r\n').status, 400);
  t.is(err('GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n').status, 400);
  t.is(err('GET / HTTP/2.0\r\nHost: x\r\n\r\n').status, 505);
  t.is(err('GET / HTTP/0.9\r\nHost: x\r\n\r\n').status, 505);
  t.is(err(`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`).status, 414);
});

test('header errors: obs-fold, space before colon, no colon, control characters, too many', (t) => {
  t.regex(err('GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n').message, /folding/);
  t.regex(err('GET / HTTP/1.1\r\nHost : x\r\n\r\n').message, /whitespace/);
  t.is(err('GET / HTTP/1.1\r\nHost\tx\r\n\r\n').status, 400);
  t.is(err('GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n').status, 400);
  t.is(err('GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n').status, 400);
  t.is(err('GET / HTTP/1.1\r\n: x\r\n\r\n').status, 400);
  const many = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('');
  t.is(err(`GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`).status, 431);
});

test('smuggling: CL+TE, differing CLs, bad TE, TE in 1.0, missing or double Host, invalid CL', (t) => {
  t.regex(err('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n').message, /both/);
  t.regex(err('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n').message, /differing/);
  t.is(err('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n').status, 400);
  t.is(err('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n').status, 400);
  t.is(err('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n').status, 400);
  t.is(err('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n').status, 400);
  t.is(err('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').status, 501);
  t.regex(err('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n').message, /HTTP\/1\.0/);
  t.regex(err('GET / HTTP/1.1\r\n\r\n').message, /Host/);
  t.regex(err('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n').message, /more than one Host/);
  for (const v of ['abc', '-1', '+5', '5 5', '0x10', '', '99999999999999999999']) {
    t.regex(err(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${v}\r\n\r\n`).message, /Content-Length/, v);
  }
  t.true(err('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n').close);
});

test('chunk size lines', (t) => {
  t.is(parseChunkSizeLine(Buffer.from('1a')), 26);
  t.is(parseChunkSizeLine(Buffer.from('FF;name=value')), 255);
  t.is(parseChunkSizeLine(Buffer.from('10 ;ext')), 16);
  t.is(parseChunkSizeLine(Buffer.from('0')), 0);
  t.is(parseChunkSizeLine(Buffer.from('')), -1);
  t.is(parseChunkSizeLine(Buffer.from('-1')), -1);
  t.is(parseChunkSizeLine(Buffer.from('1 2')), -1);
  t.is(parseChunkSizeLine(Buffer.from('0x10')), -1);
  t.is(parseChunkSizeLine(Buffer.from('fffffffffff')), -1);
});

async function body(
  raw: string,
  chunked: boolean,
  contentLength = -1,
  max = 1000,
): Promise<{ data: string; trailers: string[]; overflow: boolean; rest: string }> {
  const f = new LineFramer({ maxLineLength: 1000 });
  f.push(Buffer.from(raw, 'latin1'));
  f.end();
  const parts: Buffer[] = [];
  const r = await readRequestBody(f, contentLength, chunked, max, (c) => void parts.push(Buffer.from(c)), DEFAULT_HTTP_LIMITS);
  return { data: Buffer.concat(parts).toString('latin1'), trailers: r.trailers, overflow: r.overflow, rest: f.takeBuffered().toString('latin1') };
}

test('chunked bodies with extensions and trailers; the next request stays buffered', async (t) => {
  const r = await body('5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\nGET / HTTP/1.1\r\n', true);
  t.is(r.data, 'hello world');
  t.deepEqual(r.trailers, ['X-Sum', '1']);
  t.is(r.rest, 'GET / HTTP/1.1\r\n');
  t.is((await body('hello world', false, 5)).rest, ' world');
  t.true((await body('5\r\nhello\r\n0\r\n\r\n', true, -1, 3)).overflow);
  await t.throwsAsync(body('5\r\nhelloX\r\n0\r\n\r\n', true), { instanceOf: HttpParseError });
  await t.throwsAsync(body('zz\r\nhello\r\n0\r\n\r\n', true), { instanceOf: HttpParseError });
  await t.throwsAsync(body('5\r\nhel', true), { instanceOf: HttpParseError });
  await t.throwsAsync(body('abc', false, 10), { instanceOf: HttpParseError });
});

test('paths: decoding, dot segments, traversal and encoded separators refused', (t) => {
  t.is(decodePath('/a/b.txt'), '/a/b.txt');
  t.is(decodePath('/a%20b'), '/a b');
  t.is(decodePath('/a/./b/../c'), '/a/c');
  t.is(decodePath('/a//b/'), '/a/b/');
  t.is(decodePath('/caf%C3%A9'), '/café');
  for (const bad of ['/..', '/../etc/passwd', '/a/../../b', '/%2e%2e/x', '/%2E%2E%2Fetc', '/a%2fb', '/a%5cb', '/a%00', '/%zz', '/%c3', '/a\\..\\b', 'x']) {
    t.true(decodePath(bad) instanceof HttpParseError, bad);
  }
  t.true(isInside('/srv/www', '/srv/www/a'));
  t.true(isInside('/srv/www', '/srv/www'));
  t.false(isInside('/srv/www', '/srv/www2/a'));
  t.false(isInside('/srv/www', '/etc/passwd'));
});

test('ranges and entity tags', (t) => {
  t.deepEqual(parseRange('bytes=0-4', 10), [0, 4]);
  t.deepEqual(parseRange('bytes=5-', 10), [5, 9]);
  t.deepEqual(parseRange('bytes=-3', 10), [7, 9]);
  t.deepEqual(parseRange('bytes=8-100', 10), [8, 9]);
  t.is(parseRange('bytes=10-', 10), 'unsatisfiable');
  t.is(parseRange('bytes=-0', 10), 'unsatisfiable');
  t.is(parseRange('bytes=0-1,3-4', 10), undefined);
  t.is(parseRange('items=0-1', 10), undefined);
  t.is(parseRange('bytes=5-2', 10), undefined);
  t.is(parseRange('bytes=a-b', 10), undefined);
  t.true(etagMatches('"abc"', '"abc"'));
  t.true(etagMatches('W/"abc", "x"', '"abc"'));
  t.true(etagMatches('*', '"abc"'));
  t.false(etagMatches('"abd"', '"abc"'));
});

// ---- properties ----

const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const valueArb = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
const requestArb = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'),
  path: fc.stringMatching(/^\/[A-Za-z0-9._~/-]{0,30}$/),
  fields: fc.array(fc.tuple(tokenArb, valueArb), { maxLength: 12 }),
  lf: fc.boolean(),
});

function render(r: { method: string; path: string; fields: Array<[string, string]>; lf: boolean }): string {
  const eol = r.lf ? '\n' : '\r\n';
  const fields = r.fields.filter(([n]) => !['host', 'content-length', 'transfer-encoding', 'expect'].includes(n.toLowerCase()));
  return `${r.method} ${r.path} HTTP/1.1${eol}Host: lab.test${eol}${fields.map(([n, v]) => `${n}: ${v}${eol}`).join('')}${eol}`;
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

test('property: any split of a valid request (head + chunked body) parses identically', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      requestArb,
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (r, chunks, cuts) => {
        const head = render(r).replace(/\r?\n$/, '');
        const eol = r.lf ? '\n' : '\r\n';
        const bodyText = chunks
          .filter((c) => c.length > 0)
          .map((c) => `${c.length.toString(16)}\r\n${Buffer.from(c).toString('latin1')}\r\n`)
          .join('');
        const whole = Buffer.from(`${head}Transfer-Encoding: chunked${eol}${eol}${bodyText}0\r\n\r\n`, 'latin1');
        const expected = parseRequestHead(whole.subarray(0, whole.indexOf(`${eol}${eol}`) + eol.length * 2));
        t.true(expected instanceof HttpRequest);
        const f = new LineFramer({ maxLineLength: 4096 });
        const pieces = splitAt(whole, cuts);
        const reading = (async () => {
          const h = await f.readHead(64 * 1024);
          const got = parseRequestHead(h!);
          const parts: Buffer[] = [];
          const req = got as HttpRequest;
          await readRequestBody(f, req.contentLength, req.chunked, 1 << 20, (c) => void parts.push(Buffer.from(c)), DEFAULT_HTTP_LIMITS);
          return { got, body: Buffer.concat(parts) };
        })();
        for (const p of pieces) {
          f.push(p);
          await Promise.resolve();
        }
        f.end();
        const { got, body: b } = await reading;
        t.deepEqual(got, expected);
        t.deepEqual(b, Buffer.concat(chunks.map((c) => Buffer.from(c))));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: random bytes never throw out of the parser, path decoder or body reader', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = parseRequestHead(Buffer.from(bytes), DEFAULT_HTTP_LIMITS);
      return r === null || r instanceof HttpRequest || r instanceof HttpParseError;
    }),
    { numRuns: 2000 },
  );
  // Random bytes after a plausible prefix reach deeper into the header rules.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const buf = Buffer.concat([Buffer.from('POST /x HTTP/1.1\r\nHost: h\r\n'), Buffer.from(bytes), Buffer.from('\r\n\r\n')]);
      const r = parseRequestHead(buf);
      return r === null || r instanceof HttpRequest || r instanceof HttpParseError;
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      const r = decodePath(`/${s}`);
      return typeof r === 'string' ? !r.split('/').includes('..') : r instanceof HttpParseError;
    }),
    { numRuns: 2000 },
  );
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      const f = new LineFramer({ maxLineLength: 100 });
      f.push(Buffer.from(bytes));
      f.end();
      try {
        await readRequestBody(f, -1, true, 1000, undefined, DEFAULT_HTTP_LIMITS);
      } catch (e) {
        return e instanceof HttpParseError;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
