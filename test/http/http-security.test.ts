// Hostile input against the real HTTP service: request smuggling probes (RFC 9112 sections 6 and 11),
// path traversal (dot segments, encodings, NUL, symlinks out of the root), slow heads (slowloris), the
// TRACE switch with secrets redacted, and protocol events for requests and status lines. Every test
// runs on both plain transports (raw and net, see both-transports.ts).
import test from 'ava';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import { type LabnetHandle } from '../../core/host.js';
import type { ProtocolEvent } from '../../core/events.js';
import { httpLabPerTransport } from './both-transports.js';
import { curl, rawRequest, RawClient } from './raw-client.js';

const outsideDirs: string[] = [];

const both = httpLabPerTransport({ headerTimeoutMs: 1500, keepAliveTimeoutMs: 4000 }, ({ www }) => {
  const outside = mkdtempSync(join(tmpdir(), 'labnet-outside-'));
  outsideDirs.push(outside);
  writeFileSync(join(outside, 'secret.txt'), 'TOP-SECRET-OUTSIDE\n');
  symlinkSync(join(outside, 'secret.txt'), join(www, 'leak.txt'));
  symlinkSync(outside, join(www, 'leakdir'));
  writeFileSync(join(www, 'inside.txt'), 'inside\n');
  symlinkSync(join(www, 'inside.txt'), join(www, 'alias.txt'));
});

test.after.always(() => {
  for (const d of outsideDirs) rmSync(d, { recursive: true, force: true });
});

const smuggling: Array<[string, string]> = [
  ['Content-Length and Transfer-Encoding together', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['Transfer-Encoding before Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n'],
  ['differing Content-Length values', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde'],
  ['Content-Length list with different values', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nabcde'],
  ['Transfer-Encoding not ending in chunked', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
  ['Transfer-Encoding xchunked', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'],
  ['Transfer-Encoding with a space before the colon', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n'],
  ['Transfer-Encoding in HTTP/1.0', 'POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n'],
  ['obs-fold hiding Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc'],
  ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
  ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
  ['two Host fields', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
  ['Content-Length not a number', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4x\r\n\r\nabcd'],
  ['negative Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
  ['Content-Length with a plus sign', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd'],
  ['bad chunk size', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x4\r\nabcd\r\n0\r\n\r\n'],
  ['chunk longer than its size', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n'],
  ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
];

for (const [name, request] of smuggling) {
  both(`smuggling probe answered 400 and closed: ${name}`, async (t, { port }) => {
    const c = await RawClient.open(port);
    // A second request right behind it must never be answered.
    c.send(`${request}GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n`);
    const r = await c.response();
    t.is(r.status, 400);
    t.is(r.headers.connection, 'close');
    t.regex(r.text, /^400 Bad Request: .+/);
    t.true(await c.closesWithin(5000));
    t.false(c.pending.includes('HTTP/1.1 200'));
    c.destroy();
  });
}

both('an unsupported transfer coding before chunked gets 501 and the connection closes', async (t, { port }) => {
  const r = await rawRequest(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n');
  t.is(r.status, 501);
  t.true(r.closed);
});

const traversal = [
  '/../../../../etc/passwd',
  '/..%2f..%2f..%2fetc/passwd',
  '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/%2E%2E/%2E%2E/etc/passwd',
  '/foo/../../etc/passwd',
  '/..\\..\\etc\\passwd',
  '/%5c..%5c..%5cetc/passwd',
  '/hello.txt%00.html',
  '/etc/passwd%00',
  '//etc/passwd',
  '/./../etc/passwd',
];

for (const path of traversal) {
  both(`traversal probe never leaves the document root: ${path}`, async (t, { port }) => {
    const r = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    t.true(r.status === 400 || r.status === 404, `status ${r.status}`);
    t.false(r.text.includes('root:'));
  });
}

both('curl --path-as-is traversal gets 400', async (t, { port }) => {
  const r = await curl(['--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/../../etc/passwd`]);
  t.is(r.stdout.toString(), '400');
});

both('symlinks pointing outside the root are refused; inside ones work', async (t, { port }) => {
  const leak = await rawRequest(port, 'GET /leak.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(leak.status, 403);
  t.false(leak.text.includes('TOP-SECRET'));
  const dir = await rawRequest(port, 'GET /leakdir/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(dir.status, 403);
  t.false(dir.text.includes('TOP-SECRET'));
  const alias = await rawRequest(port, 'GET /alias.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(alias.status, 200);
  t.is(alias.text, 'inside\n');
});

both('slowloris: a head trickling in is cut off with 408 after the header timeout', async (t, { port }) => {
  const c = await RawClient.open(port);
  c.send('GET /hello.txt HTTP/1.1\r\n');
  let sent = 0;
  const started = Date.now();
  // One header line every 200 ms: the idle timeout never fires, the header deadline (1.5 s) must.
  while (!c.closed && sent < 100) {
    await new Promise((r) => setTimeout(r, 200));
    if (!c.closed) c.send(`X-Slow-${sent++}: still coming\r\n`);
  }
  t.true(c.closed, 'the server closed the connection');
  t.true(sent < 100, `cut after ${sent} lines and ${Date.now() - started} ms`);
  t.regex(c.pending, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.regex(c.pending, /did not arrive within/);
  // A well-behaved client is not affected.
  const ok = await rawRequest(port, 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(ok.status, 200);
});

both('an idle keep-alive connection between requests is not cut by the header timeout', async (t, { port }) => {
  const c = await RawClient.open(port);
  c.send('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await c.response()).status, 200);
  await new Promise((r) => setTimeout(r, 2500));
  t.false(c.closed);
  c.send('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await c.response()).status, 200);
  c.destroy();
});

both('a keep-alive connection that stays silent past keepAliveTimeoutMs is closed', async (t, { port }) => {
  const c = await RawClient.open(port);
  c.send('GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is((await c.response()).status, 200);
  t.true(await c.closesWithin(15_000));
  t.is(c.pending, '');
  // A connection that never sends anything is closed too.
  const silent = await RawClient.open(port);
  t.true(await silent.closesWithin(15_000));
});

both('TRACE, when switched on, echoes the request as message/http with secrets redacted; events show requests', async (t, { transport }) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-trace-'));
  let inproc: LabnetHandle | undefined;
  try {
    inproc = await startLabnet({
      defaults: false,
      only: ['http'],
      logLevel: 'silent',
      config: { listen: '127.0.0.1', dataDir: dir, services: { http: { port: 0, https: false, trace: true, transport } } },
    });
    const events: ProtocolEvent[] = [];
    inproc.events.subscribe((e) => events.push(e), { types: ['command', 'reply', 'session.open', 'session.close'] });
    const p = inproc.port('http');
    const r = await rawRequest(
      p,
      'TRACE /some/where HTTP/1.1\r\nHost: x\r\nCookie: session=hunter2\r\nAuthorization: Basic c2VjcmV0\r\nX-Visible: yes\r\n\r\n',
    );
    t.is(r.status, 200);
    t.is(r.headers['content-type'], 'message/http');
    t.regex(r.text, /^TRACE \/some\/where HTTP\/1\.1\r\n/);
    t.regex(r.text, /X-Visible: yes/);
    t.regex(r.text, /Cookie: <redacted>/);
    t.regex(r.text, /Authorization: <redacted>/);
    t.false(r.text.includes('hunter2'));
    t.false(r.text.includes('c2VjcmV0'));
    const options = await rawRequest(p, 'OPTIONS /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    t.is(options.headers.allow, 'GET, HEAD, OPTIONS, TRACE');
    await inproc.events.settled();
    const commands = events.filter((e) => e.type === 'command').map((e) => (e.type === 'command' ? e.text : ''));
    const replies = events.filter((e) => e.type === 'reply').map((e) => (e.type === 'reply' ? e.text : ''));
    t.true(commands.includes('TRACE /some/where HTTP/1.1'));
    t.true(replies.includes('HTTP/1.1 200 OK'));
    t.true(events.some((e) => e.type === 'session.open'));
  } finally {
    await inproc?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
