// The REST API over real HTTP (Node's fetch) and HTTPS: every answer is checked against the OpenAPI
// document the server publishes (operation, status, media type, JSON schema), and the last test checks
// that every documented operation was answered. Off by default; token and instructor logins; hostile
// queries and bodies; the delivery stream.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { ProtocolEvent } from '../../core/events.js';
import { MAIL_API_LIMITS } from '../../core/mail-api/limits.js';
import { startTestLab, type TestLab } from './fixture.js';
import { OpenApiChecker } from './openapi-check.js';

const TOKEN = 'rest-test-token-0123456789';
let t0: TestLab;
let base: string;
let checker: OpenApiChecker;
const problems: string[] = [];

test.before(async () => {
  t0 = await startTestLab({ api: { token: TOKEN }, instructors: ['teacher'] }, ['smtp', 'imap', 'http', 'https']);
  base = `http://127.0.0.1:${t0.lab.ports.http}`;
  const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as ConstructorParameters<typeof OpenApiChecker>[0];
  checker = new OpenApiChecker(doc);
});

test.after.always(async () => {
  await t0?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
  json: <T = Record<string, unknown>>() => T;
}

interface CallOptions {
  method?: string;
  auth?: string | null;
  body?: unknown;
  rawBody?: string;
  contentType?: string;
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** One call; the answer is checked against the OpenAPI document (problems collected for the tests). */
async function api(path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = o.auth === undefined ? `Bearer ${TOKEN}` : o.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | undefined;
  if (o.body !== undefined || o.rawBody !== undefined) {
    body = o.rawBody ?? JSON.stringify(o.body);
    headers['content-type'] = o.contentType ?? 'application/json';
  }
  const method = o.method ?? 'GET';
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  problems.push(...checker.check(method, new URL(`${base}${path}`).pathname, res.status, res.headers.get('content-type'), text));
  return { status: res.status, headers: res.headers, text, bytes, json: <T>() => JSON.parse(text) as T };
}

const tag = (): string => randomBytes(6).toString('hex');
const send = (options: Mail.Options) => nodemailer.createTransport(t0.lab.clients.nodemailer()).sendMail(options);

test.serial('the document is a valid OpenAPI 3.1 description and served without credentials', async (t) => {
  const res = await api('/api/v1/openapi.json', { auth: null });
  t.is(res.status, 200);
  const doc = res.json<{ openapi: string }>();
  t.is(doc.openapi, '3.1.0');
  const result = await new Validator().validate(doc);
  t.true(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  t.true(checker.checkSchema('MessageSummary', { id: 1 }).length > 0, 'the checker does reject what the schema does not allow');
  t.deepEqual(problems, []);
});

test.serial('without credentials, with a wrong token or a non-instructor login: 401 with both challenges; Basic logins are auth events', async (t) => {
  const auths: ProtocolEvent[] = [];
  const sub = t0.lab.events.subscribe((e) => auths.push(e), { types: ['auth'] });
  for (const auth of [null, 'Bearer wrong', 'Bearer', 'Token abc', basic('teacher', 'wrong'), basic('alice', 'alice-pw'), 'Basic !!!']) {
    const res = await api('/api/v1/messages', { auth });
    t.is(res.status, 401, String(auth));
    t.is(res.json<{ code: string }>().code, 'UNAUTHORIZED');
    t.regex(res.headers.get('www-authenticate') ?? '', /Bearer realm="labnet API".*Basic realm="labnet API"/);
  }
  const ok = await api('/api/v1/messages', { auth: basic('teacher@lab.test', 'teacher-pw') });
  t.is(ok.status, 200);
  await t0.lab.events.settled();
  sub.unsubscribe();
  const basics = auths.filter((e) => e.type === 'auth' && e.mechanism === 'Basic') as Array<Extract<ProtocolEvent, { type: 'auth' }>>;
  t.deepEqual(
    basics.map((e) => [e.user, e.ok]),
    [
      ['teacher', false],
      ['alice', false],
      ['', false],
      ['teacher', true],
    ],
  );
  t.false(JSON.stringify(auths).includes('teacher-pw'));
  t.deepEqual(problems, []);
});

test.serial('list and search: user, folder, from, to, subject, text, since, paging', async (t) => {
  const id = tag();
  await send({ from: '"Prof X" <x@school.example>', to: 'alice@lab.test', subject: `first ${id}`, text: `apples ${id}` });
  await send({ from: 'y@school.example', to: ['alice@lab.test', 'bob@lab.test'], subject: `second ${id}`, text: `pears ${id}` });
  await t0.lab.mail.waitFor({ subject: id, count: 3 });
  const all = await api(`/api/v1/messages?subject=${id}`);
  t.is(all.status, 200);
  const list = all.json<{ total: number; count: number; messages: Array<{ subject: string; user: string; from: { value: Array<{ name: string }> } }> }>();
  t.is(list.total, 3, 'alice twice, bob once');
  t.deepEqual(
    list.messages.map((m) => `${m.user}: ${m.subject}`),
    [`alice: first ${id}`, `alice: second ${id}`, `bob: second ${id}`],
  );
  const q = async (query: string): Promise<string[]> =>
    (await api(`/api/v1/messages?${query}`)).json<{ messages: Array<{ user: string; subject: string }> }>().messages.map((m) => `${m.user}: ${m.subject}`);
  t.deepEqual(await q(`user=alice&subject=${id}`), [`alice: first ${id}`, `alice: second ${id}`]);
  t.deepEqual(await q(`to=bob%40lab.test&subject=${id}`), [`bob: second ${id}`]);
  t.deepEqual(await q(`from=prof+x&subject=${id}`), [`alice: first ${id}`]);
  t.deepEqual(await q(`text=pears+${id}&user=alice`), [`alice: second ${id}`]);
  t.deepEqual(await q(`subject=${id}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), []);
  t.deepEqual(await q(`subject=${id}&folder=*&user=bob`), [`bob: second ${id}`]);
  const page = (await api(`/api/v1/messages?subject=${id}&limit=1&offset=1`)).json<{ total: number; offset: number; count: number; messages: unknown[] }>();
  t.like(page, { total: 3, offset: 1, count: 1 });
  t.deepEqual(problems, []);
});

test.serial('one message parsed, its raw source, its attachments; over HTTPS too', async (t) => {
  const id = tag();
  const blob = randomBytes(5000);
  await send({
    from: 'x@school.example',
    to: 'alice@lab.test',
    subject: `attached ${id}`,
    text: 'see attached',
    html: '<p>see <i>attached</i></p>',
    attachments: [
      { filename: 'data.bin', content: blob, contentType: 'application/octet-stream' },
      { filename: 'évil".html', content: '<script>alert(1)</script>', contentType: 'text/html' },
    ],
  });
  const [m] = await t0.lab.mail.waitFor({ to: 'alice', subject: id });
  const path = `/api/v1/messages/alice/INBOX/${m.uid}`;
  const one = await api(path);
  t.is(one.status, 200);
  const json = one.json<{
    subject: string;
    html: string;
    text: string;
    attachments: Array<{ filename: string; size: number; links: { content: string } }>;
    links: { raw: string };
  }>();
  t.is(json.subject, `attached ${id}`);
  t.is(json.html, '<p>see <i>attached</i></p>');
  t.is(json.text.trim(), 'see attached');
  t.deepEqual(
    json.attachments.map((a) => [a.filename, a.size]),
    [
      ['data.bin', 5000],
      ['évil".html', 25],
    ],
  );
  const raw = await api(json.links.raw);
  t.is(raw.status, 200);
  t.is(raw.headers.get('content-type'), 'message/rfc822');
  t.true(raw.bytes.equals(m.raw));
  const a0 = await api(json.attachments[0].links.content);
  t.true(a0.bytes.equals(blob));
  const a1 = await api(json.attachments[1].links.content);
  t.is(a1.headers.get('content-type'), 'text/html');
  t.is(a1.headers.get('content-disposition'), `attachment; filename="_vil_.html"; filename*=UTF-8''%C3%A9vil%22.html`);
  t.is(a1.headers.get('x-content-type-options'), 'nosniff');
  t.regex(a1.headers.get('content-security-policy') ?? '', /sandbox/);
  t.is((await api(`${path}/attachments/2`)).status, 404);
  t.is((await api(`/api/v1/messages/alice/INBOX/99999`)).json<{ code: string }>().code, 'NO_SUCH_MESSAGE');
  // The same routes are on the HTTPS site (the shared registry), verified against the lab CA.
  const viaHttps = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: t0.lab.ports.https, path, ca: t0.lab.caPem, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  t.is(viaHttps.status, 200);
  t.is((JSON.parse(viaHttps.body) as { subject: string }).subject, `attached ${id}`);
  t.deepEqual(problems, []);
});

test.serial('delete one message, then all of a mailbox, then all', async (t) => {
  const id = tag();
  for (const to of ['alice@lab.test', 'alice@lab.test', 'bob@lab.test']) await send({ from: 'x@school.example', to, subject: `del ${id}`, text: 'x' });
  const msgs = await t0.lab.mail.waitFor({ subject: id, count: 3 });
  const first = msgs.find((m) => m.user === 'alice')!;
  const path = `/api/v1/messages/alice/INBOX/${first.uid}`;
  t.is((await api(path, { method: 'DELETE' })).status, 204);
  t.is((await api(path, { method: 'DELETE' })).status, 404);
  t.is((await api(path)).status, 404);
  const aliceLeft = (await t0.lab.mail.messages({ user: 'alice' })).length;
  const purge = await api('/api/v1/messages?user=alice', { method: 'DELETE' });
  t.deepEqual(purge.json(), { deleted: aliceLeft });
  t.deepEqual(await t0.lab.mail.messages({ user: 'alice' }), []);
  t.true((await api('/api/v1/messages', { method: 'DELETE' })).json<{ deleted: number }>().deleted >= 1);
  t.is((await api('/api/v1/messages?folder=*')).json<{ total: number }>().total, 0);
  t.deepEqual(problems, []);
});

test.serial('users: list, add, conflict, set a password, detail, remove; IMAP logins follow at once', async (t) => {
  const imap = async (user: string, pass: string): Promise<boolean> => {
    const c = new ImapFlow(t0.lab.clients.imapflow({ user, password: pass }));
    try {
      await c.connect();
      await c.logout();
      return true;
    } catch {
      return false;
    }
  };
  const list = (await api('/api/v1/users')).json<{ users: Array<{ name: string }>; testMode: boolean }>();
  t.deepEqual(
    list.users.map((u) => u.name),
    ['alice', 'bob', 'teacher'],
  );
  t.false(list.testMode);
  const added = await api('/api/v1/users', { method: 'POST', body: { name: 'Frank', password: 'frank-1' } });
  t.is(added.status, 201);
  t.deepEqual(added.json(), { name: 'frank', address: 'frank@lab.test' });
  t.is(added.headers.get('location'), '/api/v1/users/frank');
  t.true(await imap('frank', 'frank-1'));
  t.is((await api('/api/v1/users', { method: 'POST', body: { name: 'frank', password: 'x' } })).status, 409);
  t.is((await api('/api/v1/users', { method: 'POST', body: { name: 'has space', password: 'x' } })).status, 400);
  t.is((await api('/api/v1/users', { method: 'POST', body: { name: 'x' } })).status, 400);
  t.is((await api('/api/v1/users/frank', { method: 'PUT', body: { password: 'frank-2' } })).status, 200);
  t.false(await imap('frank', 'frank-1'));
  t.true(await imap('frank', 'frank-2'));
  t.is((await api('/api/v1/users/grace@lab.test', { method: 'PUT', body: { password: 'grace-1' } })).status, 201);
  t.true(await imap('grace', 'grace-1'));
  const detail = (await api('/api/v1/users/frank')).json<{ account: boolean; folders: Array<{ name: string }> }>();
  t.true(detail.account);
  t.true(
    detail.folders.some((f) => f.name === 'INBOX'),
    'IMAP login made the mailbox',
  );
  t.is((await api('/api/v1/users/frank', { method: 'DELETE' })).status, 204);
  t.is((await api('/api/v1/users/frank', { method: 'DELETE' })).status, 404);
  t.false(await imap('frank', 'frank-2'));
  t.like((await api('/api/v1/users/frank')).json(), { account: false }, 'the mailbox stays');
  t.is((await api('/api/v1/users/nobody-here')).status, 404);
  t.deepEqual(problems, []);
});

/** Reads server-sent events from a streaming fetch until `want` of them arrived. */
async function readEvents(res: Response, want: number): Promise<Array<{ event: string; data: string }>> {
  const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const out: Array<{ event: string; data: string }> = [];
  let buf = '';
  while (out.length < want) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += Buffer.from(value).toString('utf8');
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) out.push({ event, data });
    }
  }
  await reader.cancel();
  return out;
}

test.serial('the delivery stream sends one event per matching delivery, and refuses past its cap', async (t) => {
  const id = tag();
  const ac = new AbortController();
  const res = await fetch(`${base}/api/v1/deliveries?user=bob&subject=${id}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
  problems.push(...checker.check('GET', '/api/v1/deliveries', res.status, res.headers.get('content-type'), ''));
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const events = readEvents(res, 2);
  await send({ from: 'x@school.example', to: 'alice@lab.test', subject: `stream ${id} for alice`, text: 'a' });
  await send({ from: 'x@school.example', to: 'bob@lab.test', subject: `stream ${id} for bob`, text: 'b' });
  await send({ from: 'x@school.example', to: 'bob@lab.test', subject: `unrelated ${tag()}`, text: 'b' });
  await send({ from: 'x@school.example', to: ['alice@lab.test', 'bob@lab.test'], subject: `stream ${id} for both`, text: 'b' });
  const got = await events;
  ac.abort();
  t.deepEqual(
    got.map((e) => [e.event, (JSON.parse(e.data) as { subject: string }).subject]),
    [
      ['message', `stream ${id} for bob`],
      ['message', `stream ${id} for both`],
    ],
  );
  for (const e of got) problems.push(...checker.checkSchema('MessageSummary', JSON.parse(e.data)));
  // The cap: open streams up to it with raw sockets, the next one gets 503.
  const sockets = [];
  for (let i = 0; i < MAIL_API_LIMITS.maxEventStreams; i++) {
    const s = connect(t0.lab.ports.http, '127.0.0.1');
    s.write(`GET /api/v1/deliveries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    await new Promise<void>((r) => s.once('data', () => r()));
    sockets.push(s);
  }
  const over = await api('/api/v1/deliveries');
  t.is(over.status, 503);
  t.is(over.headers.get('retry-after'), '5');
  for (const s of sockets) s.destroy();
  t.deepEqual(problems, []);
});

test.serial('hostile input: unknown or repeated parameters, bad numbers, bad JSON, wrong media type, too large a body, unknown routes', async (t) => {
  const codes = async (path: string, o: CallOptions = {}): Promise<[number, string]> => {
    const r = await api(path, o);
    return [r.status, r.json<{ code: string }>().code];
  };
  t.deepEqual(await codes('/api/v1/messages?usr=alice'), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes('/api/v1/messages?user=a&user=b'), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes('/api/v1/messages?limit=0'), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes('/api/v1/messages?limit=abc'), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes(`/api/v1/messages?limit=${MAIL_API_LIMITS.maxPageSize + 1}`), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes('/api/v1/messages?since=yesterday'), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes(`/api/v1/messages?subject=${'x'.repeat(MAIL_API_LIMITS.maxQueryValueLength + 1)}`), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes('/api/v1/messages?user=alice%40elsewhere.example'), [400, 'INVALID_QUERY']);
  t.deepEqual(await codes('/api/v1/users', { method: 'POST', rawBody: '{"name": "x",' }), [400, 'INVALID_JSON']);
  t.deepEqual(await codes('/api/v1/users', { method: 'POST', rawBody: '[1,2]' }), [400, 'INVALID_JSON']);
  t.deepEqual(await codes('/api/v1/users', { method: 'POST', rawBody: 'name=x', contentType: 'application/x-www-form-urlencoded' }), [
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  ]);
  t.deepEqual(
    await codes('/api/v1/users', { method: 'POST', rawBody: JSON.stringify({ name: 'big', password: 'x'.repeat(MAIL_API_LIMITS.maxJsonBodyBytes) }) }),
    [413, 'BODY_TOO_LARGE'],
  );
  t.deepEqual(await codes('/api/v1/messages/alice/INBOX/1/nonsense'), [404, 'NO_SUCH_ROUTE']);
  t.deepEqual(await codes('/api/v1/messages/alice/INBOX/notanumber'), [404, 'NO_SUCH_MESSAGE']);
  t.deepEqual(await codes('/api/v1/messages/..%2e/INBOX/1'), [404, 'NO_SUCH_MESSAGE']);
  t.deepEqual(
    problems.filter((p) => !p.includes('no such path in the document')),
    [],
  );
  // /api/v2 and friends are not documented: checked by hand.
  const res = await fetch(`${base}/api/v2/anything`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.is(res.status, 404);
  t.is(((await res.json()) as { code: string }).code, 'NO_SUCH_ROUTE');
  problems.length = 0;
});

test.serial('fault rules: add (201, Location), list, get, refuse bad and duplicate rules, remove one and all; SMTP answers what they say', async (t) => {
  const added = await api('/api/v1/faults', {
    method: 'POST',
    body: { id: 'rest-rcpt', service: 'smtp', at: 'RCPT', recipient: 'bob@*', reply: '451 4.3.0 injected by REST' },
  });
  t.is(added.status, 201, added.text);
  t.is(added.headers.get('location'), '/api/v1/faults/rest-rcpt');
  t.like(added.json(), { id: 'rest-rcpt', at: 'RCPT', matched: 0, applied: 0 });
  const err = await t.throwsAsync(send({ from: 'x@school.example', to: 'bob@lab.test', subject: 'rest fault', text: 'x' }));
  t.is((err as { responseCode?: number }).responseCode, 451);
  t.like((await api('/api/v1/faults/rest-rcpt')).json(), { matched: 1, applied: 1 });
  t.is((await api('/api/v1/faults', { method: 'POST', body: { at: 'MAIL', delayMs: 5 } })).status, 201);
  const list = (await api('/api/v1/faults')).json<{ rules: Array<{ id: string }>; maxRules: number }>();
  t.deepEqual(
    list.rules.map((r) => r.id),
    ['rest-rcpt', 'f1'],
  );
  t.is(list.maxRules, 100);
  t.like((await api('/api/v1/faults', { method: 'POST', body: { at: 'MAIL' } })).json(), { status: 400, code: 'FAULT_INVALID' });
  t.like((await api('/api/v1/faults', { method: 'POST', body: { at: 'MAIL', reply: '4', bogus: 1 } })).json(), { status: 400, code: 'FAULT_INVALID' });
  t.like((await api('/api/v1/faults', { method: 'POST', body: { id: 'rest-rcpt', close: true } })).json(), { status: 409, code: 'FAULT_EXISTS' });
  t.is((await api('/api/v1/faults/rest-rcpt', { method: 'DELETE' })).status, 204);
  t.like((await api('/api/v1/faults/rest-rcpt')).json(), { status: 404, code: 'NO_SUCH_FAULT' });
  t.like((await api('/api/v1/faults/rest-rcpt', { method: 'DELETE' })).json(), { status: 404, code: 'NO_SUCH_FAULT' });
  t.deepEqual((await api('/api/v1/faults', { method: 'DELETE' })).json(), { deleted: 1 });
  t.deepEqual((await api('/api/v1/faults')).json<{ rules: unknown[] }>().rules, []);
  t.is((await api('/api/v1/faults', { auth: null })).status, 401);
  await send({ from: 'x@school.example', to: 'bob@lab.test', subject: 'rest fault gone', text: 'x' });
  t.deepEqual(problems, []);
});

test.serial('every documented operation was answered and matched its schema', (t) => {
  const answered = new Set([...checker.seen].filter((s) => /\s2\d\d$/.test(s)).map((s) => s.replace(/\s\d+$/, '')));
  t.deepEqual(
    checker.operations().filter((op) => !answered.has(op)),
    [],
  );
  t.true([...checker.seen].some((s) => s.endsWith(' 401')));
  t.true([...checker.seen].some((s) => s.endsWith(' 404')));
});

test('off by default: no token and no instructors, every /api/ path answers 404 saying how to switch it on', async (t) => {
  const off = await startTestLab({}, ['smtp', 'http']);
  try {
    const b = `http://127.0.0.1:${off.lab.ports.http}`;
    for (const path of ['/api/v1/messages', '/api/v1/openapi.json', '/api/v1/users', '/api/']) {
      const res = await fetch(`${b}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      t.is(res.status, 404, path);
      const body = (await res.json()) as { code: string; detail: string };
      t.is(body.code, 'API_OFF');
      t.regex(body.detail, /api\.token/);
    }
    const landing = await (await fetch(`${b}/`)).text();
    t.false(landing.includes('/api/v1'), 'the landing page does not advertise an API that is off');
    t.false(off.logs.some((l) => l.includes('REST API on')));
  } finally {
    await off.stop();
  }
  t.true(t0.logs.some((l) => l.includes('REST API on at /api/v1/')));
  t.true((await (await fetch(`${base}/`)).text()).includes('/api/v1/openapi.json'));
});
