// IMAP message data in the live lab's transcripts (issue 15), through the hub's event stream as an
// instructor sees it: FETCH literals the server sends (BODY[], BODY[HEADER], BODY[TEXT], a partial,
// several messages in one batch) and APPEND literals the client sends, each as the header section and
// the start of the body with the literal's size; a session's share is bounded; LOGIN literals and
// AUTHENTICATE never show. Real peers: imapflow and a raw socket.
import test from 'ava';
import { ImapFlow } from 'imapflow';
import type { LabnetHandle } from '../../core/host.js';
import type { LineData } from '../../core/lab/wire.js';
import { LineClient } from '../support/line-client.js';
import { followAs } from './lab-client.js';
import { startLabFor } from './lab-fixture.js';

const USERS = [
  { name: 'alice', password: 'alice-Imap-Secret-1' },
  { name: 'teach', password: 'teach-Imap-Secret-3' },
];

function startLab(t: { teardown(fn: () => Promise<void> | void): void }): Promise<LabnetHandle> {
  return startLabFor(t, { users: USERS, instructors: ['teach'], services: { http: { port: 0, httpsPort: 0 }, imap: { port: 0, imapsPort: 0 } } });
}

/** imapflow logged in as alice over plain IMAP, closed when the test ends. */
async function imapAsAlice(t: { teardown(fn: () => void): void }, port: number): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: 'alice', pass: USERS[0].password }, logger: false });
  await client.connect();
  t.teardown(() => client.close());
  return client;
}

function message(subject: string, body: string, extraHeaders = ''): string {
  return `From: bob@lab.test\r\nTo: alice@lab.test\r\nSubject: ${subject}\r\n${extraHeaders}Message-ID: <${Math.random().toString(36).slice(2)}@lab.test>\r\n\r\n${body}`;
}

/** Reads a raw IMAP client's answers up to the tagged reply of `tag`. */
async function untilTagged(c: LineClient, tag: string): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const l = await c.line();
    if (l === null) throw new Error(`connection closed before ${tag}: ${got.slice(-3).join(' | ')}`);
    got.push(l);
    if (l.startsWith(`${tag} `)) return got;
  }
}

test('IMAP APPEND and FETCH literals show as message data in the transcript: header and body start, sizes, several per batch; LOGIN literals and AUTHENTICATE never show', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const imap = lab.port('imap');
  const teach = await followAs(t, http, USERS[1], undefined, { fetchPayloads: true });

  // APPEND with imapflow (it logs in with AUTHENTICATE PLAIN or LOGIN).
  const body = `${'The body of the appended message, line after line.\r\n'.repeat(300)}THE-END-OF-THE-BODY\r\n`;
  const raw = message('Append <b>check</b>', body);
  const client = await imapAsAlice(t, imap);
  const appended = await client.append('INBOX', raw, ['\\Seen']);
  t.truthy(appended);
  await client.append('INBOX', message('second', 'short body two\r\n'));
  await client.append('INBOX', message('third', 'short body three\r\n'));
  const appendLine = (): LineData | undefined =>
    teach.lines().find((l) => l.kind === 'command' && / APPEND /.test(l.text) && l.payload?.includes('Append <b>check</b>'));
  await teach.until(() => appendLine() !== undefined, 10_000, 'the APPEND line with its payload');
  const a = appendLine()!;
  t.true(a.payload!.includes('Subject: Append <b>check</b>'), 'the header section is shown');
  t.true(a.payload!.includes('The body of the appended message, line after line.'), 'the start of the body is shown');
  t.false(a.payload!.includes('THE-END-OF-THE-BODY'), 'the body is cut to an excerpt');
  t.true(a.payload!.length < 4096, `the excerpt is bounded (${a.payload!.length} characters)`);
  t.true(a.payload!.includes(`(${Buffer.byteLength(raw)} octets in all)`), 'the excerpt says how long the message was');
  t.is(a.payloadBytes, Buffer.byteLength(raw), 'payloadBytes is the whole literal');

  // FETCH: the whole message, its header, its text, a partial.
  const lock = await client.getMailboxLock('INBOX');
  t.teardown(() => lock.release());
  const whole = await client.fetchOne('1', { source: true });
  t.is(whole && Buffer.isBuffer(whole.source) ? whole.source.length : -1, Buffer.byteLength(raw));
  await client.fetchOne('1', { headers: true });
  await client.fetchOne('1', { bodyParts: ['TEXT'] });
  await client.fetchOne('1', { source: { start: 100, maxLength: 60 } });
  const fetchReplies = (): LineData[] => teach.lines().filter((l) => l.kind === 'reply' && /FETCH responses/.test(l.text) && l.payload !== undefined);
  await teach.until(() => fetchReplies().length >= 4, 10_000, 'four FETCH replies with payloads');
  const [all, header, text, partial] = fetchReplies();
  t.regex(all.payload!, /^\* 1 FETCH \(.*BODY\[\] \{\d+\}\r\n/, 'the literal is named as it was announced on the wire');
  t.true(all.payload!.includes('Subject: Append <b>check</b>'));
  t.true(all.payload!.includes('The body of the appended message'));
  t.false(all.payload!.includes('THE-END-OF-THE-BODY'));
  t.is(all.payloadBytes, Buffer.byteLength(raw), 'the FETCH payload stands for the literal');
  t.true(all.bytes! > Buffer.byteLength(raw), 'the line itself counts every octet sent');
  t.regex(header.payload!, /BODY\[HEADER\] \{\d+\}\r\nFrom: bob@lab.test/);
  t.false(header.payload!.includes('The body of the appended message'), 'BODY[HEADER] is the header only');
  t.regex(text.payload!, /BODY\[TEXT\] \{\d+\}\r\nThe body of the appended message/, 'BODY[TEXT] starts with the body, not taken for a header');
  t.false(text.payload!.includes('THE-END-OF-THE-BODY'));
  t.true(text.payload!.length < 2600, `BODY[TEXT] shows its first 2 KiB (${text.payload!.length})`);
  t.regex(partial.payload!, /BODY\[\]<100> \{60\}\r\n/);
  t.is(partial.payloadBytes, 60);

  // Several messages in one batch: each literal named, in order.
  const before = fetchReplies().length;
  for await (const m of client.fetch('1:3', { source: true })) t.truthy(m.source);
  await teach.until(() => fetchReplies().length > before, 10_000, 'the batch');
  const batch = fetchReplies()[before];
  const intros = [...batch.payload!.matchAll(/^\* (\d+) FETCH \(/gm)].map((m) => m[1]);
  t.deepEqual(intros, ['1', '2', '3']);
  t.true(batch.payload!.includes('short body three'));
  await client.logout();

  // A raw client: LOGIN with the password as a literal, then AUTHENTICATE; neither shows anywhere.
  const c = await LineClient.connect(imap);
  t.teardown(() => c.socket.destroy());
  await c.line();
  c.write(`a1 LOGIN alice {${USERS[0].password.length}}\r\n`);
  t.regex((await c.line())!, /^\+ /);
  c.write(`${USERS[0].password}\r\n`);
  t.regex((await untilTagged(c, 'a1')).at(-1)!, /^a1 OK/);
  c.write('a2 LOGOUT\r\n');
  await untilTagged(c, 'a2');
  const c2 = await LineClient.connect(imap);
  t.teardown(() => c2.socket.destroy());
  await c2.line();
  c2.write('b1 AUTHENTICATE PLAIN\r\n');
  await c2.line();
  c2.write(`${Buffer.from(`\0alice\0${USERS[0].password}`).toString('base64')}\r\n`);
  t.regex((await untilTagged(c2, 'b1')).at(-1)!, /^b1 OK/);
  c2.write('b2 SELECT INBOX\r\nb3 LOGOUT\r\n');
  await untilTagged(c2, 'b3');
  await teach.until(() => teach.lines().some((l) => l.text.includes('b3 OK')), 10_000, 'the raw sessions');
  t.false(teach.raw.includes(USERS[0].password), 'the password never reaches the stream');
  t.false(teach.raw.includes(Buffer.from(`\0alice\0${USERS[0].password}`).toString('base64')), 'nor the SASL response');
  t.false(
    teach.lines().some((l) => l.kind === 'command' && / LOGIN /.test(l.text) && l.payload !== undefined),
    'a LOGIN literal is never a payload',
  );
});

test('a session shows a bounded share of message data, then says so once', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const imap = lab.port('imap');
  const teach = await followAs(t, http, USERS[1], undefined, { fetchPayloads: true });
  // A message whose header section alone is 12 KiB: each FETCH shows ~14 KiB.
  const bigHeader = Array.from({ length: 200 }, (_, i) => `X-Filler-${i}: ${'x'.repeat(50)}\r\n`).join('');
  const client = await imapAsAlice(t, imap);
  await client.append('INBOX', message('big header', 'body\r\n'.repeat(1000), bigHeader));
  await client.logout();
  const c = await LineClient.connect(imap);
  t.teardown(() => c.socket.destroy());
  await c.line();
  const n = 30;
  const cmds = [`a LOGIN alice ${USERS[0].password}`, 'b SELECT INBOX', ...Array.from({ length: n }, (_, i) => `f${i} FETCH 1 BODY.PEEK[]`), 'z LOGOUT'];
  c.write(`${cmds.join('\r\n')}\r\n`);
  await untilTagged(c, 'z');
  const sessionId = (): string | undefined => teach.lines().find((l) => l.text === `f${n - 1} FETCH 1 BODY.PEEK[]`)?.session;
  await teach.until(() => sessionId() !== undefined && teach.lines(sessionId()).some((l) => l.kind === 'close'), 10_000, 'the session to end');
  await teach.until(() => teach.pendingFetches === 0, 10_000, 'the long payloads fetched from the transcript');
  const lines = teach.lines(sessionId());
  const fetches = lines.filter((l) => l.kind === 'reply' && /FETCH responses/.test(l.text));
  t.is(fetches.length, n);
  const shown = fetches.filter((l) => l.payload !== undefined);
  t.true(shown.length >= 10, `the first fetches show their data (${shown.length})`);
  t.true(shown.length < n, `later ones do not (${shown.length} of ${n})`);
  const total = shown.reduce((s, l) => s + l.payload!.length, 0);
  t.true(total <= 256 * 1024, `at most 256 KiB in all (${total})`);
  t.is(lines.filter((l) => l.kind === 'notice' && /no longer excerpted/.test(l.text)).length, 1, 'the transcript says so once');
  t.true(
    fetches.every((l) => l.bytes! > 12 * 1024),
    'every line still gives its size',
  );
});
