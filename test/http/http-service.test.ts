// The HTTP service in the real `labnet start` process, driven by curl and raw sockets: every method,
// static files with validators and ranges, /echo, /upload/, keep-alive, pipelining, chunked uploads,
// 100-continue, HTTP/1.0, each error code, /healthz and the landing page. Every test runs on both
// plain transports (raw and net, see both-transports.ts).
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { httpLabPerTransport } from './both-transports.js';
import { curl, rawRequest, RawClient } from './raw-client.js';

const run = promisify(execFile);

const big = randomBytes(300 * 1024);

const both = httpLabPerTransport(
  { uploadMaxFiles: 3, uploadMaxFileBytes: 100_000, maxBodyBytes: 200_000, maxHeaderCount: 50, maxHeadBytes: 16384 },
  ({ www }) => {
    writeFileSync(join(www, 'digits.txt'), '0123456789');
    writeFileSync(join(www, 'big.bin'), big);
  },
);

/** curl -i: status, lower-cased headers, body. */
async function curlI(args: string[], input?: Buffer): Promise<{ status: number; headers: Record<string, string>; body: string; raw: string }> {
  const r = await curl(['-i', ...args], input);
  const raw = r.stdout.toString('latin1');
  // Skip interim 100 responses.
  let text = raw;
  while (text.startsWith('HTTP/1.1 100')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status: Number(lines[0].split(' ')[1]), headers, body: text.slice(end + 4), raw };
}

both('the seeded document root serves hello.txt and index.html with validators', async (t, { url }) => {
  const r = await curlI([url('/hello.txt')]);
  t.is(r.status, 200);
  t.is(r.body, 'Hello, world\n');
  t.is(r.headers['content-type'], 'text/plain; charset=utf-8');
  t.is(r.headers['content-length'], '13');
  t.regex(r.headers.etag ?? '', /^"[0-9a-f]+-d"$/);
  t.truthy(Date.parse(r.headers['last-modified'] ?? ''));
  t.truthy(Date.parse(r.headers.date ?? ''));
  t.is(r.headers.server, 'labnet');
  const index = await curlI([url('/index.html')]);
  t.is(index.status, 200);
  t.is(index.headers['content-type'], 'text/html; charset=utf-8');
  t.regex(index.body, /document root/);
});

both('HEAD has the GET headers and no body', async (t, { port }) => {
  const r = await rawRequest(port, 'HEAD /digits.txt HTTP/1.1\r\nHost: x\r\n\r\n', { head: true });
  t.is(r.status, 200);
  t.is(r.headers['content-length'], '10');
  t.is(r.body.length, 0);
  const c = await RawClient.open(port);
  c.send('HEAD /digits.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /digits.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.response({ head: true });
  t.is((await c.response()).text, '0123456789');
  c.destroy();
});

both('conditional GET answers 304 for If-None-Match and If-Modified-Since', async (t, { url }) => {
  const first = await curlI([url('/digits.txt')]);
  const etag = first.headers.etag;
  const inm = await curlI(['-H', `If-None-Match: ${etag}`, url('/digits.txt')]);
  t.is(inm.status, 304);
  t.is(inm.body, '');
  t.is(inm.headers.etag, etag);
  t.is((await curlI(['-H', 'If-None-Match: "other"', url('/digits.txt')])).status, 200);
  const ims = await curlI(['-H', `If-Modified-Since: ${first.headers['last-modified']}`, url('/digits.txt')]);
  t.is(ims.status, 304);
  t.is((await curlI(['-H', 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT', url('/digits.txt')])).status, 200);
});

both('single ranges: 206 with Content-Range, 416 outside the file, several ranges give the whole file', async (t, { url }) => {
  const r = await curlI(['-r', '2-5', url('/digits.txt')]);
  t.is(r.status, 206);
  t.is(r.body, '2345');
  t.is(r.headers['content-range'], 'bytes 2-5/10');
  const suffix = await curlI(['-H', 'Range: bytes=-3', url('/digits.txt')]);
  t.is(suffix.body, '789');
  const bad = await curlI(['-r', '50-60', url('/digits.txt')]);
  t.is(bad.status, 416);
  t.is(bad.headers['content-range'], 'bytes */10');
  const multi = await curlI(['-r', '0-1,4-5', url('/digits.txt')]);
  t.is(multi.status, 200);
  t.is(multi.body, '0123456789');
  const etag = r.headers.etag;
  t.is((await curlI(['-r', '0-0', '-H', `If-Range: ${etag}`, url('/digits.txt')])).status, 206);
  t.is((await curlI(['-r', '0-0', '-H', 'If-Range: "stale"', url('/digits.txt')])).status, 200);
});

both('a file larger than the memory cache streams whole and by range', async (t, { url, www }) => {
  writeFileSync(join(www, 'huge.bin'), Buffer.concat([big, big, big, big]));
  const r = await curl([url('/huge.bin')]);
  t.is(r.stdout.length, big.length * 4);
  t.true(r.stdout.equals(Buffer.concat([big, big, big, big])));
  const part = await curl(['-r', `${big.length - 2}-${big.length + 1}`, url('/huge.bin')]);
  t.true(part.stdout.equals(Buffer.concat([big.subarray(big.length - 2), big.subarray(0, 2)])));
  const plain = await curl([url('/big.bin')]);
  t.true(plain.stdout.equals(big));
});

both('a changed file is served fresh within a second or so', async (t, { url, www }) => {
  writeFileSync(join(www, 'changing.txt'), 'one');
  t.is((await curl([url('/changing.txt')])).stdout.toString(), 'one');
  writeFileSync(join(www, 'changing.txt'), 'two!');
  let seen = '';
  for (let i = 0; i < 40 && seen !== 'two!'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = (await curl([url('/changing.txt')])).stdout.toString();
  }
  t.is(seen, 'two!');
});

both('a directory without a slash redirects, with a slash serves its index.html; 404 names the path', async (t, { url, www }) => {
  mkdirSync(join(www, 'sub'));
  writeFileSync(join(www, 'sub', 'index.html'), '<p>sub</p>');
  const r = await curlI([url('/sub')]);
  t.is(r.status, 301);
  t.is(r.headers.location, '/sub/');
  const idx = await curlI([url('/sub/')]);
  t.is(idx.status, 200);
  t.is(idx.body, '<p>sub</p>');
  const missing = await curlI([url('/nothing/here')]);
  t.is(missing.status, 404);
  t.regex(missing.body, /404 Not Found: no file at \/nothing\/here/);
});

both('OPTIONS answers 200 with Allow for routes, files and *', async (t, { port, url }) => {
  const echo = await curlI(['-X', 'OPTIONS', url('/echo')]);
  t.is(echo.status, 200);
  t.is(echo.headers.allow, 'GET, HEAD, POST, OPTIONS');
  t.is((await curlI(['-X', 'OPTIONS', url('/hello.txt')])).headers.allow, 'GET, HEAD, OPTIONS');
  t.is((await curlI(['-X', 'OPTIONS', url('/upload/x')])).headers.allow, 'GET, HEAD, PUT, DELETE, OPTIONS');
  const star = await rawRequest(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(star.status, 200);
  t.regex(star.headers.allow ?? '', /GET.*POST.*PUT.*DELETE/);
});

both('POST /echo answers with method, headers, body size and SHA-256 (JSON and text)', async (t, { url }) => {
  const payload = randomBytes(5000);
  const r = await curl(
    [
      '-H',
      'Content-Type: application/octet-stream',
      '-H',
      'Authorization: Basic c2VjcmV0OnNlY3JldA==',
      '-H',
      'Cookie: session=hunter2',
      '--data-binary',
      '@-',
      url('/echo'),
    ],
    payload,
  );
  const json = JSON.parse(r.stdout.toString()) as { method: string; headers: Array<{ name: string; value: string }>; body: { size: number; sha256: string } };
  t.is(json.method, 'POST');
  t.is(json.body.size, 5000);
  t.is(json.body.sha256, createHash('sha256').update(payload).digest('hex'));
  t.true(json.headers.some((h) => h.name === 'Content-Type' && h.value === 'application/octet-stream'));
  t.false(r.stdout.toString().includes('hunter2'));
  t.false(r.stdout.toString().includes('c2VjcmV0'));
  const text = await curl(['-d', 'abc', url('/echo?format=text')]);
  t.regex(text.stdout.toString(), /^POST \/echo\?format=text HTTP\/1\.1\n/);
  t.regex(text.stdout.toString(), /body: 3 octets, sha256 ba7816bf/);
});

both('chunked request bodies with trailers reach /echo; curl chunked upload works', async (t, { port, url }) => {
  const r = await rawRequest(
    port,
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n',
  );
  t.is(r.status, 200);
  const json = JSON.parse(r.text) as { body: { size: number; sha256: string; chunked: boolean }; trailers: Array<{ name: string; value: string }> };
  t.is(json.body.size, 11);
  t.true(json.body.chunked);
  t.is(json.body.sha256, createHash('sha256').update('hello world').digest('hex'));
  t.deepEqual(json.trailers, [{ name: 'X-Checksum', value: '42' }]);
  const payload = randomBytes(70_000);
  const c = await curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', url('/echo')], payload);
  const j2 = JSON.parse(c.stdout.toString()) as { body: { size: number; sha256: string; chunked: boolean } };
  t.true(j2.body.chunked);
  t.is(j2.body.size, payload.length);
  t.is(j2.body.sha256, createHash('sha256').update(payload).digest('hex'));
});

both('Expect: 100-continue gets 100 before the body; too large gets 413 without it', async (t, { port, url }) => {
  const c = await RawClient.open(port);
  c.send('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
  const interim = await c.response();
  t.is(interim.status, 100);
  c.send('ping');
  const r = await c.response();
  t.is(r.status, 200);
  t.is((JSON.parse(r.text) as { body: { size: number } }).body.size, 4);
  c.destroy();
  const big413 = await rawRequest(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n');
  t.is(big413.status, 413);
  t.true(big413.closed);
  // A client that sends a large body without waiting still reads the 413 (lingering close).
  const flood = await curlI(['-H', 'Expect:', '--data-binary', '@-', url('/echo')], randomBytes(5_000_000));
  t.is(flood.status, 413);
  t.regex(flood.body, /at most 200000 octets/);
  // curl sends Expect: 100-continue for large bodies and waits for it.
  const payload = randomBytes(150_000);
  const viaCurl = await curl(['-H', 'Expect: 100-continue', '--data-binary', '@-', url('/echo')], payload);
  t.is((JSON.parse(viaCurl.stdout.toString()) as { body: { size: number } }).body.size, payload.length);
});

both('upload area: PUT 201 then 204, GET back, DELETE 204 then 404, listing, caps', async (t, { port, url, lab }) => {
  const content = randomBytes(20_000);
  const put = await curlI(['-u', 'alice:alice-lab', '-T', '-', url('/upload/notes.bin')], content);
  t.is(put.status, 201);
  t.is(put.headers.location, '/upload/notes.bin');
  t.true(readFileSync(join(lab.dataDir, 'uploads', 'notes.bin')).equals(content));
  const get = await curl([url('/upload/notes.bin')]);
  t.true(get.stdout.equals(content));
  const again = await curlI(['-u', 'alice:alice-lab', '-T', '-', url('/upload/notes.bin')], Buffer.from('replaced'));
  t.is(again.status, 204);
  t.is((await curl([url('/upload/notes.bin')])).stdout.toString(), 'replaced');
  const listing = await curl([url('/upload/')]);
  t.regex(listing.stdout.toString(), /notes\.bin/);
  const del = await curlI(['-u', 'alice:alice-lab', '-X', 'DELETE', url('/upload/notes.bin')]);
  t.is(del.status, 204);
  t.is((await curlI(['-u', 'alice:alice-lab', '-X', 'DELETE', url('/upload/notes.bin')])).status, 404);
  t.is((await curlI([url('/upload/notes.bin')])).status, 404);
  // 411 without a length, 413 over the size cap, 400 for a bad name, 405 for POST.
  const noLen = await rawRequest(port, 'PUT /upload/a.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(noLen.status, 411);
  const tooBig = await curlI(['-u', 'alice:alice-lab', '-T', '-', url('/upload/big.bin')], randomBytes(100_001));
  t.is(tooBig.status, 413);
  t.is(
    (
      await rawRequest(
        port,
        'PUT /upload/big2.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6YWxpY2UtbGFi\r\nTransfer-Encoding: chunked\r\n\r\n' +
          `30000\r\n${'x'.repeat(0x30000)}\r\n0\r\n\r\n`,
      )
    ).status,
    413,
  );
  t.is((await curlI(['-u', 'alice:alice-lab', '-T', '-', url('/upload/.hidden')], Buffer.from('x'))).status, 400);
  const post = await curlI(['-d', 'x', url('/upload/a.txt')]);
  t.is(post.status, 405);
  t.is(post.headers.allow, 'GET, HEAD, PUT, DELETE, OPTIONS');
  // Count cap: 3 files, the 4th is refused with 507; replacing one still works.
  for (const n of ['f1', 'f2', 'f3']) t.is((await curlI(['-u', 'alice:alice-lab', '-T', '-', url(`/upload/${n}`)], Buffer.from(n))).status, 201);
  const full = await curlI(['-u', 'alice:alice-lab', '-T', '-', url('/upload/f4')], Buffer.from('f4'));
  t.is(full.status, 507);
  t.regex(full.body, /maximum of 3 files/);
  t.is((await curlI(['-u', 'alice:alice-lab', '-T', '-', url('/upload/f1')], Buffer.from('f1b'))).status, 204);
  for (const n of ['f1', 'f2', 'f3']) t.is((await curlI(['-u', 'alice:alice-lab', '-X', 'DELETE', url(`/upload/${n}`)])).status, 204);
});

both('405 with Allow for POST, PUT, DELETE on static files and for CONNECT; TRACE is off by default', async (t, { port, url }) => {
  for (const m of ['POST', 'PUT', 'DELETE']) {
    const r = await curlI(['-X', m, url('/hello.txt')]);
    t.is(r.status, 405, m);
    t.is(r.headers.allow, 'GET, HEAD, OPTIONS');
    t.regex(r.body, new RegExp(`${m} is not allowed`));
  }
  const connect = await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  t.is(connect.status, 405);
  t.truthy(connect.headers.allow);
  const trace = await curlI(['-X', 'TRACE', url('/hello.txt')]);
  t.is(trace.status, 405);
  t.regex(trace.body, /TRACE is switched off/);
  t.is((await curlI(['-X', 'POST', url('/healthz')])).headers.allow, 'GET, HEAD, OPTIONS');
});

both('error codes each with a body saying what was wrong: 400 404 411 413 414 431 501 505', async (t, { port }) => {
  const cases: Array<[string, number, RegExp]> = [
    ['GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400, /no colon/],
    ['GET /nope.txt HTTP/1.1\r\nHost: x\r\n\r\n', 404, /no file at \/nope\.txt/],
    ['PUT /upload/q HTTP/1.1\r\nHost: x\r\n\r\n', 411, /Content-Length/],
    ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n', 413, /at most 200000/],
    [`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, /request line longer/],
    [`GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 60 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`, 431, /more than 50 header fields/],
    [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431, /larger than 16384/],
    ['BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n', 501, /BREW is not implemented/],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505, /HTTP\/2\.0 is not supported/],
    ['GET / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n', 417, /expectation/],
  ];
  for (const [req, status, body] of cases) {
    const r = await rawRequest(port, req);
    t.is(r.status, status, req.slice(0, 40));
    t.regex(r.text, body);
    t.is(r.headers['content-type'], 'text/plain; charset=utf-8');
  }
});

both('an unknown method or a 404 keeps the connection for the next request', async (t, { port }) => {
  const c = await RawClient.open(port);
  c.send('BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await c.response()).status, 501);
  c.send('GET /nope HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await c.response()).status, 404);
  c.send('POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde');
  t.is((await c.response()).status, 405);
  c.send('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await c.response()).text, 'Hello, world\n');
  t.false(c.closed);
  c.destroy();
});

both('keep-alive: curl reuses one connection for several URLs', async (t, { url }) => {
  const r = await curl(['-v', url('/hello.txt'), url('/digits.txt'), url('/healthz')]);
  t.regex(r.stderr, /Re-using existing connection/);
  t.false(/Connection #0 to host .* left intact[^]*Trying/.test(r.stderr));
  t.regex(r.stdout.toString(), /^Hello, world\n0123456789\{/);
});

both('pipelining: several requests in one write get their responses in order', async (t, { port }) => {
  const c = await RawClient.open(port);
  c.send(
    'GET /digits.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /echo?format=text HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
      'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n' +
      'HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  t.is((await c.response()).text, '0123456789');
  t.regex((await c.response()).text, /body: 3 octets/);
  t.is((await c.response()).status, 404);
  t.is((await c.response({ head: true })).headers['content-length'], '13');
  const last = await c.response();
  t.is(last.text, 'Hello, world\n');
  t.is(last.headers.connection, 'close');
  t.true(await c.closesWithin(5000));
});

both('HTTP/1.0: closes unless keep-alive is asked for; Connection: close closes 1.1', async (t, { port, url }) => {
  const r10 = await rawRequest(port, 'GET /hello.txt HTTP/1.0\r\n\r\n');
  t.is(r10.status, 200);
  t.is(r10.statusLine, 'HTTP/1.1 200 OK');
  t.is(r10.headers.connection, 'close');
  t.true(r10.closed);
  const c = await RawClient.open(port);
  c.send('GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const k = await c.response();
  t.is(k.headers.connection, 'keep-alive');
  c.send('GET /digits.txt HTTP/1.0\r\n\r\n');
  t.is((await c.response()).text, '0123456789');
  t.true(await c.closesWithin(5000));
  const close11 = await rawRequest(port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.true(close11.closed);
  t.is(close11.headers.connection, 'close');
  const curl10 = await curl(['-0', url('/hello.txt')]);
  t.is(curl10.stdout.toString(), 'Hello, world\n');
});

both('/healthz reports every service as JSON', async (t, { port, url }) => {
  const r = await curlI([url('/healthz')]);
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/json');
  const j = JSON.parse(r.body) as { status: string; services: Array<{ name: string; state: string; listeners: Array<{ port: number }> }> };
  t.is(j.status, 'ok');
  const http = j.services.find((s) => s.name === 'http');
  t.is(http?.state, 'running');
  t.is(http?.listeners[0]?.port, port);
});

both('the landing page lists services with ports, mail setup and the address form', async (t, { port, url }) => {
  const r = await curlI([url('/')]);
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'text/html; charset=utf-8');
  t.regex(r.body, new RegExp(`http ${port}/tcp`));
  t.regex(r.body, /name@lab\.test/);
  t.regex(r.body, /alice@lab\.test/);
  // Passwords are published only with services.http.landingShowsPasswords (off by default).
  t.notRegex(r.body, /alice-lab/);
  t.regex(r.body, /Setting up a mail client/);
  const evil = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: <script>x</script>\r\n\r\n');
  t.is(evil.status, 400);
  t.regex(evil.text, /invalid Host header/);
  const amp = await rawRequest(port, "GET / HTTP/1.1\r\nHost: a&b'c\r\n\r\n");
  t.is(amp.status, 200);
  // A Host that is not one of the lab's names is not echoed at all: the page falls back to the hostname.
  t.false(amp.text.includes('a&amp;b'));
  t.false(amp.text.includes("a&b'c"));
  t.regex(amp.text, /labnet\.lab\.test/);
});

both('other real clients: busybox wget and Python http.client (one keep-alive connection)', async (t, { port, url }) => {
  const wget = await run('busybox', ['wget', '-q', '-O', '-', url('/digits.txt')]);
  t.is(wget.stdout, '0123456789');
  const script = `
import http.client, sys, json
c = http.client.HTTPConnection('127.0.0.1', ${port}, timeout=10)
out = []
c.request('GET', '/hello.txt'); r = c.getresponse(); out.append([r.status, r.read().decode()])
sock = c.sock
c.request('PUT', '/upload/py.txt', body=b'from python', headers={'Authorization': 'Basic YWxpY2U6YWxpY2UtbGFi'}); r = c.getresponse(); out.append([r.status, r.read().decode()])
c.request('GET', '/upload/py.txt'); r = c.getresponse(); out.append([r.status, r.read().decode()])
c.request('DELETE', '/upload/py.txt', headers={'Authorization': 'Basic YWxpY2U6YWxpY2UtbGFi'}); r = c.getresponse(); out.append([r.status, r.read().decode()])
out.append(c.sock is sock)
print(json.dumps(out))
`;
  const py = await run('python3', ['-c', script]);
  const out = JSON.parse(py.stdout) as unknown[];
  t.deepEqual(out, [[200, 'Hello, world\n'], [201, 'created /upload/py.txt (11 octets)\n'], [200, 'from python'], [204, ''], true]);
});

both('a client that half-closes after its request (printf ... | nc -N) still gets the answer', async (t, { port }) => {
  for (const path of ['/digits.txt', '/healthz', '/big.bin', '/nope.txt']) {
    const body = await new Promise<Buffer>((resolve, reject) => {
      const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => c.end(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
      const parts: Buffer[] = [];
      c.on('data', (d: Buffer) => parts.push(d));
      c.on('end', () => resolve(Buffer.concat(parts)));
      c.on('error', reject);
    });
    const text = body.toString('latin1');
    t.regex(text, path === '/nope.txt' ? /^HTTP\/1\.1 404 / : /^HTTP\/1\.1 200 /, path);
    if (path === '/big.bin') t.true(body.subarray(body.indexOf('\r\n\r\n') + 4).equals(big), 'the whole 300 KB file');
    if (path === '/digits.txt') t.true(text.endsWith('0123456789'));
  }
});
