// The lab hub through its HTTP interface, on an in-process lab (HTTP, SMTP, POP3, IMAP on loopback):
// who sees what (students by login and by address, instructors everything, anyone the overview), no
// password ever on the stream, resume without loss or doubles, gap markers, a stalled viewer that
// never blocks a service, bounded history, the login and its cookie, the security headers.
import test from 'ava';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startLabnet } from '../../app/labnet.js';
import type { LabnetHandle } from '../../core/host.js';
import type { LabHub } from '../../core/lab/hub.js';
import type { StatusBoard } from '../../core/status-board.js';
import { TOKENS } from '../../core/tokens.js';
import type { TlsMaterial } from '../../core/tls/tls-material.js';
import type { HandshakeData, LineData, TranscriptData } from '../../core/lab/wire.js';
import { LINE_NOTES } from '../../core/lab/wire-codec.js';
import { lineBytes } from '../../core/lab/session-record.js';
import { LineClient } from '../support/line-client.js';
import { followAs, LabStreamClient, login, request } from './lab-client.js';
import { startLabFor } from './lab-fixture.js';

const USERS = [
  { name: 'alice', password: 'alice-Secret-1' },
  { name: 'bob', password: 'bob-Secret-2' },
  { name: 'teach', password: 'teach-Secret-3' },
];

function startLab(
  t: { teardown(fn: () => Promise<void> | void): void },
  lab: Record<string, unknown> = {},
  http: Record<string, unknown> = {},
): Promise<LabnetHandle> {
  return startLabFor(t, {
    users: USERS,
    instructors: ['teach'],
    lab,
    services: {
      http: { port: 0, httpsPort: 0, ...http },
      smtp: { port: 0, submissionPort: 0, smtpsPort: 0 },
      pop3: { port: 0, pop3sPort: 0 },
      imap: { port: 0, imapsPort: 0 },
    },
  });
}

/** A raw TCP client from a chosen loopback address (a student's machine). */
function rawFrom(port: number, localAddress: string): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(new LineClient(s)));
    s.once('error', reject);
  });
}

async function smtpSay(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  let reply = '';
  for (;;) {
    const l = await c.line();
    if (l === null) return reply;
    reply += `${l}\n`;
    if (/^\d{3} /.test(l)) return reply;
  }
}

function sessionOfPeer(client: LabStreamClient, port: number): string | undefined {
  for (const s of client.sessions().values()) if (s.peer.port === port) return s.id;
  return undefined;
}

test('students see the sessions they logged in to and those from their address; never another student’s; instructors see all', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const smtp = lab.port('smtp');
  const aliceStream = await followAs(t, http, USERS[0], '127.0.0.4');
  const bobStream = await followAs(t, http, USERS[1], '127.0.0.5');
  const teachStream = await followAs(t, http, USERS[2]);
  const anon = new LabStreamClient(http, { localAddress: '127.0.0.4' });
  await anon.open();
  t.teardown(() => anon.close());
  await aliceStream.until(() => aliceStream.hello() !== undefined);
  t.is(aliceStream.hello()!.viewer.role, 'student');
  t.is(aliceStream.hello()!.viewer.address, '127.0.0.4');

  // alice sends mail (logged in) from another machine; bob too.
  for (const [user, pass, from] of [
    ['alice', USERS[0].password, '127.0.0.2'],
    ['bob', USERS[1].password, '127.0.0.3'],
  ] as const) {
    const tr = nodemailer.createTransport({ host: '127.0.0.1', port: smtp, localAddress: from, secure: false, ignoreTLS: true, auth: { user, pass } });
    await tr.sendMail({
      from: `${user}@lab.test`,
      to: 'carol@lab.test',
      subject: `from ${user}`,
      text: 'hi',
      envelope: { from: `${user}@lab.test`, to: ['teach@lab.test'] },
    });
  }
  // A session from alice's own address, nobody logged in: hers by address.
  const mine = await rawFrom(smtp, '127.0.0.4');
  await mine.line();
  await smtpSay(mine, 'EHLO alice-laptop');
  await teachStream.until(() => teachStream.lines().some((l) => l.text === 'EHLO alice-laptop'), 10_000, 'instructor sees the raw session');
  await teachStream.until(() => [...teachStream.sessions().values()].filter((s) => s.service === 'smtp' && s.closedAt !== undefined).length >= 2);

  const smtpUsers = (c: LabStreamClient): string[] =>
    [...c.sessions().values()]
      .filter((s) => s.service === 'smtp')
      .map((s) => s.user ?? `addr:${s.peer.address}`)
      .sort();
  await aliceStream.until(() => smtpUsers(aliceStream).length === 2, 10_000, 'alice sees two sessions');
  t.deepEqual(smtpUsers(aliceStream), ['addr:127.0.0.4', 'alice']);
  t.deepEqual(smtpUsers(teachStream), ['addr:127.0.0.4', 'alice', 'bob']);
  await bobStream.until(() => smtpUsers(bobStream).length === 1);
  t.deepEqual(smtpUsers(bobStream), ['bob']);
  // Lines follow the same rule: nothing of alice's reaches bob.
  t.false(
    bobStream.lines().some((l) => l.text.includes('alice')),
    'no line of alice reaches bob',
  );
  t.true(aliceStream.lines().some((l) => l.text === 'EHLO alice-laptop'));
  // Anyone: the overview, no session, no line.
  const hello = anon.hello()!;
  t.is(hello.viewer.role, 'anonymous');
  t.deepEqual(hello.sessions, []);
  t.true(hello.overview.services.some((s) => s.name === 'smtp'));
  t.is(anon.lines().length, 0);
  // The API says the same.
  const other = [...teachStream.sessions().values()].find((s) => s.user === 'bob')!;
  t.is((await request(http, `/lab/api/sessions/${other.id}`, { headers: { Cookie: aliceStream.options.cookie! }, localAddress: '127.0.0.4' })).status, 404);
  t.is((await request(http, `/lab/api/sessions/${other.id}`, { headers: { Cookie: bobStream.options.cookie! }, localAddress: '127.0.0.5' })).status, 200);
  t.is((await request(http, `/lab/api/sessions/${other.id}`)).status, 404, 'anonymous');

  // bob logs in on the session from alice's address: it becomes bob's, alice is told to forget it.
  const id = sessionOfPeer(teachStream, mine.socket.localPort!)!;
  t.truthy(id);
  const plain = Buffer.from(`\0bob\0${USERS[1].password}`).toString('base64');
  t.regex(await smtpSay(mine, `AUTH PLAIN ${plain}`), /^235/);
  await aliceStream.until(() => aliceStream.of('forget').some((e) => e.data.includes(id)), 10_000, 'forget');
  await bobStream.until(() => bobStream.sessions().has(id), 10_000, 'bob sees his login');
  await smtpSay(mine, 'NOOP');
  await smtpSay(mine, 'QUIT');
  await bobStream.until(() => bobStream.lines(id).some((l) => l.text === 'NOOP'));
  await teachStream.until(() => teachStream.lines(id).some((l) => l.kind === 'close'));
  t.false(
    aliceStream.lines(id).some((l) => l.text === 'NOOP'),
    'alice gets no line after bob logged in',
  );
});

test('streams whose viewers are alike share one encoded batch, and each still gets only what it may see: two tabs of a student, another student at the same address, instructors with and without a service filter', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const tabA = await followAs(t, http, USERS[0], '127.0.0.4');
  const tabB = await followAs(t, http, USERS[0], '127.0.0.4');
  const bob = await followAs(t, http, USERS[1], '127.0.0.4');
  const teach = await followAs(t, http, USERS[2]);
  const teachSmtp = new LabStreamClient(http, { cookie: teach.options.cookie!, query: '?service=smtp' });
  await teachSmtp.open();
  t.teardown(() => teachSmtp.close());
  const all = [tabA, tabB, bob, teach, teachSmtp];
  for (const s of all) await s.until(() => s.hello() !== undefined);

  // alice and bob each send a mail from machines of their own; alice also logs in to IMAP.
  for (const [user, pass, from] of [
    ['alice', USERS[0].password, '127.0.0.2'],
    ['bob', USERS[1].password, '127.0.0.3'],
  ] as const) {
    const tr = nodemailer.createTransport({
      host: '127.0.0.1',
      port: lab.port('smtp'),
      localAddress: from,
      secure: false,
      ignoreTLS: true,
      auth: { user, pass },
    });
    await tr.sendMail({ from: `${user}@lab.test`, to: 'teach@lab.test', subject: `from ${user}`, text: 'hi' });
  }
  const imap = await rawFrom(lab.port('imap'), '127.0.0.2');
  await imap.line();
  imap.write(`a1 LOGIN alice ${USERS[0].password}\r\nb1 LOGOUT\r\n`);
  while ((await imap.line()) !== null);

  const users = (c: LabStreamClient): string[] =>
    [...c.sessions().values()]
      .filter((x) => x.service !== 'http')
      .map((x) => `${x.service}:${x.user ?? '-'}`)
      .sort();
  const closed = (c: LabStreamClient, n: number) => (): boolean =>
    [...c.sessions().values()].filter((x) => x.service !== 'http' && x.closedAt !== undefined).length >= n;
  await teach.until(closed(teach, 3), 10_000, 'the instructor sees three sessions closed');
  await teachSmtp.until(closed(teachSmtp, 2), 10_000, 'the SMTP-only stream sees two');
  for (const tab of [tabA, tabB]) await tab.until(closed(tab, 2), 10_000, "alice's tabs see her two");
  await bob.until(closed(bob, 1), 10_000, 'bob sees his');
  t.deepEqual(users(teach), ['imap:alice', 'smtp:alice', 'smtp:bob']);
  t.deepEqual(users(teachSmtp), ['smtp:alice', 'smtp:bob']);
  t.deepEqual(users(tabA), ['imap:alice', 'smtp:alice']);
  t.deepEqual(users(bob), ['smtp:bob']);
  // Line for line the same in both tabs once both were open; none of another's session anywhere.
  const since = Math.max(tabA.hello()!.seq, tabB.hello()!.seq);
  const seqs = (c: LabStreamClient): string[] => c.lines().flatMap((l) => (l.seq > since ? [`${l.seq} ${l.text}`] : []));
  t.deepEqual(seqs(tabA), seqs(tabB));
  t.true(seqs(tabA).some((l) => l.endsWith(' MAIL FROM:<alice@lab.test>')));
  const ofSessions = (c: LabStreamClient): Set<string> => new Set(c.lines().map((l) => l.session));
  for (const c of all) for (const id of ofSessions(c)) t.true(c.sessions().has(id), `a line of ${id}, a session the stream was not shown`);
  t.false(
    bob.lines().some((l) => l.text.includes('alice')),
    "no line of alice's reaches bob",
  );
  t.false(
    teachSmtp.lines().some((l) => /^[ab]1 |^\* OK/.test(l.text)),
    'no IMAP line on the SMTP-only stream',
  );
  t.true(teach.lines().some((l) => l.text.startsWith('b1 LOGOUT')));
});

test('passwords and AUTH payloads never reach the stream, the transcripts or watch', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const teach = await followAs(t, http, USERS[2]);
  const secret = USERS[0].password;
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  // SMTP AUTH PLAIN and AUTH LOGIN.
  const s1 = await LineClient.connect(lab.port('smtp'));
  await s1.line();
  await smtpSay(s1, 'EHLO x');
  await smtpSay(s1, `AUTH PLAIN ${b64(`\0alice\0${secret}`)}`);
  await smtpSay(s1, 'QUIT');
  const s2 = await LineClient.connect(lab.port('smtp'));
  await s2.line();
  await smtpSay(s2, 'EHLO x');
  await smtpSay(s2, 'AUTH LOGIN');
  await smtpSay(s2, b64('alice'));
  await smtpSay(s2, b64(secret));
  await smtpSay(s2, 'QUIT');
  // POP3 USER/PASS and IMAP LOGIN.
  const p = await LineClient.connect(lab.port('pop3'));
  await p.line();
  p.write(`USER alice\r\nPASS ${secret}\r\nQUIT\r\n`);
  while ((await p.line()) !== null);
  const i = await LineClient.connect(lab.port('imap'));
  await i.line();
  i.write(`a LOGIN alice "${secret}"\r\nb LOGOUT\r\n`);
  while ((await i.line()) !== null);
  await teach.until(() => teach.lines().filter((l) => l.kind === 'auth' && l.text.startsWith('logged in as alice')).length >= 4, 10_000, 'four logins');
  await teach.until(() => teach.lines().filter((l) => l.kind === 'close').length >= 4);
  const transcripts: string[] = [];
  for (const s of teach.sessions().values()) {
    transcripts.push((await request(http, `/lab/api/sessions/${s.id}`, { headers: { Cookie: teach.options.cookie! } })).body);
  }
  const everything = teach.raw + transcripts.join('\n');
  for (const needle of [secret, b64(secret), b64(`\0alice\0${secret}`)]) t.false(everything.includes(needle), `never shows ${needle}`);
  t.true(everything.includes('<redacted>'), 'the redaction marker shows where the secret was');
});

test("the stream carries lines compactly (no field names, the hub's explanations as keys) and the viewer gets them back whole, as the transcript has them", async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const teach = await followAs(t, http, USERS[2]);
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  await smtpSay(c, 'EHLO compact');
  await smtpSay(c, 'NOOP');
  await smtpSay(c, 'QUIT');
  await teach.until(
    () => teach.lines().some((l) => l.kind === 'close' && teach.lines().some((o) => o.session === l.session && o.text === 'EHLO compact')),
    10_000,
    'the close',
  );
  const session = teach.lines().find((l) => l.text === 'EHLO compact')!.session;
  const streamed = teach.lines().filter((l) => l.session === session);
  const transcript = JSON.parse((await request(http, `/lab/api/sessions/${session}`, { headers: { Cookie: teach.options.cookie! } })).body) as TranscriptData;
  // Line for line the same as the transcript's, the hub's sentences included.
  t.deepEqual(
    streamed.map((l) => ({ ...l, dir: l.dir })),
    transcript.lines.map((l) => ({ ...l, dir: l.dir ?? (l.kind === 'command' ? 'c' : l.kind === 'reply' ? 's' : 'm') })),
  );
  t.is(streamed[0].note, LINE_NOTES.open);
  t.is(streamed.at(-1)!.note, LINE_NOTES.close);
  // On the wire: no sentence the page already knows, no field names of lines, the session id once a batch at most.
  t.false(teach.raw.includes(LINE_NOTES.open));
  t.false(teach.raw.includes(LINE_NOTES.close));
  t.false(teach.raw.includes('"kind"'));
  const batches = teach.raw.split('\n\n').filter((f) => f.startsWith('event: batch'));
  for (const b of batches) t.true(b.split(`"${session}"`).length - 1 <= 2, 'a session is named at most twice a batch (its summary and its first line)');
});

test('a reconnect with Last-Event-ID gets exactly the lines it missed: none lost, none doubled', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const first = new LabStreamClient(http, { cookie });
  await first.open();
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  await smtpSay(c, 'EHLO before');
  await first.until(() => first.lines().some((l) => l.text === 'EHLO before'));
  first.close();
  // While it is away: more lines.
  for (let n = 0; n < 30; n++) await smtpSay(c, `NOOP ${n}`);
  const second = new LabStreamClient(http, { cookie });
  second.lastId = first.lastId;
  await second.open(true);
  t.teardown(() => second.close());
  await smtpSay(c, 'NOOP after');
  await smtpSay(c, 'QUIT');
  const id = first.lines().find((l) => l.text === 'EHLO before')!.session;
  await second.until(() => second.lines(id).some((l) => l.kind === 'close'));
  t.is(second.of('resume').length, 1, 'resumed, no new snapshot');
  t.is(second.of('hello').length, 0);
  const seen = [...first.lines(id), ...second.lines(id)].map((l) => l.seq);
  t.is(new Set(seen).size, seen.length, 'no line twice');
  const transcript = JSON.parse((await request(http, `/lab/api/sessions/${id}`, { headers: { Cookie: cookie } })).body) as TranscriptData;
  const all = transcript.lines.map((l) => l.seq);
  const firstSeq = first.lines(id)[0].seq;
  t.deepEqual(
    seen.sort((a, b) => a - b),
    all.filter((s) => s >= firstSeq),
    'every line of the session arrived exactly once across the two connections',
  );
  t.true(second.lines(id).some((l) => l.text === 'NOOP 17'));
});

test('a reconnect from outside the history window gets a gap marker and a fresh snapshot', async (t) => {
  const lab = await startLab(t, { history: { replayEvents: 100 } });
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const first = new LabStreamClient(http, { cookie });
  await first.open();
  await first.until(() => first.hello() !== undefined);
  first.close();
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  for (let n = 0; n < 120; n++) await smtpSay(c, `NOOP ${n}`);
  const second = new LabStreamClient(http, { cookie });
  second.lastId = first.lastId;
  await second.open(true);
  t.teardown(() => second.close());
  await second.until(() => second.hello() !== undefined);
  const hello = second.hello()!;
  t.truthy(hello.gap, 'the snapshot says events were missed');
  t.true(hello.gap!.to >= hello.gap!.from);
  // The transcript (kept per session, longer than the replay window) still has every line.
  const id = [...second.sessions().values()].find((s) => s.service === 'smtp')!.id;
  const transcript = JSON.parse((await request(http, `/lab/api/sessions/${id}`, { headers: { Cookie: cookie } })).body) as TranscriptData;
  t.is(transcript.lines.filter((l) => l.text.startsWith('NOOP ')).length, 120);
});

test('a stalled viewer costs a bounded buffer, gets a gap marker, and never holds up a service', async (t) => {
  // Every line recorded (no recording budget): the flood is what fills the stalled stream.
  const lab = await startLab(t, { history: { replayEvents: 200, linesPerSecond: 0 } });
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const stalled = new LabStreamClient(http, { cookie });
  await stalled.open();
  t.teardown(() => stalled.close());
  await stalled.until(() => stalled.hello() !== undefined);
  stalled.pause();
  const hub = lab.get<LabHub>(TOKENS.Lab);
  // Long lines (an SMTP command line may have 512 octets) fill the stalled socket's buffers. How much
  // the kernel takes before the stream counts as behind varies (loopback buffers grow under load):
  // the flood goes on until the hub says so, then far past the 200 events the history keeps.
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  const long = 'x'.repeat(450);
  let sent = 0;
  let answered = 0;
  let afterBehind = 0;
  // Items not yet flushed stay in the window past its bounds until the flush (History.hold), so the
  // flood also goes on until the flushes since the stall have let go of far more than the window
  // keeps: only then has the stalled stream missed items the history no longer holds.
  let flushedAtBehind: number | undefined;
  const flushedSinceBehind = (): number => (flushedAtBehind === undefined ? 0 : hub.getStats().flushedItems - flushedAtBehind);
  while (sent < 200_000 && (sent < 10_000 || afterBehind < 4 || flushedSinceBehind() < 4 * 200)) {
    // Pipelined 64 at a time; every one is answered although the viewer reads nothing.
    for (let k = 0; k < 64; k++) c.write(`NOOP ${long}\r\n`);
    sent += 64;
    for (let k = 0; k < 64; k++) {
      const l = await c.line();
      if (l === null) break;
      if (l.startsWith('250')) answered++;
    }
    await lab.events.settled();
    if (hub.getStats().streamsBehind > 0) {
      afterBehind++;
      flushedAtBehind ??= hub.getStats().flushedItems;
    }
  }
  t.true(afterBehind >= 4, `the stalled stream fell behind (after ${sent} commands)`);
  t.true(flushedSinceBehind() >= 4 * 200, `${flushedSinceBehind()} items flushed since the stream fell behind`);
  t.is(answered, sent, 'the SMTP session was never held up by the stalled viewer');
  await lab.events.settled();
  const stats = hub.getStats();
  t.is(stats.streams, 1);
  stalled.resume();
  await stalled.until(() => stalled.of('hello').length >= 2, 20_000, 'a second snapshot after the gap');
  const gap = stalled.hello()!.gap;
  t.truthy(gap, 'the snapshot after the stall carries the gap');
  t.true(hub.getStats().gaps >= 1);
  // After the gap the stream is live again.
  await smtpSay(c, 'NOOP after the stall');
  await stalled.until(() => stalled.lines().some((l) => l.text === 'NOOP after the stall'), 10_000, 'live again');
});

test('history stays bounded: lines per session, sessions, and octets', async (t) => {
  const lab = await startLab(t, { history: { linesPerSession: 200, sessions: 10, maxBytes: 1 << 20, linesPerSecond: 0 } });
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const hub = lab.get<LabHub>(TOKENS.Lab);
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  for (let n = 0; n < 600; n++) c.write(`NOOP ${n}\r\n`);
  for (let n = 0; n < 600; n++) await c.line();
  await lab.events.settled();
  const id = hub.listSessions({ role: 'instructor', address: '' }).find((s) => s.service === 'smtp')!.id;
  const tr = JSON.parse((await request(http, `/lab/api/sessions/${id}`, { headers: { Cookie: cookie } })).body) as TranscriptData;
  t.true(tr.lines.length <= 201, `${tr.lines.length} lines kept`);
  const skipped = tr.lines.find((l: LineData) => l.kind === 'skipped');
  t.truthy(skipped);
  t.true(tr.lines[1].text.startsWith('220'), 'the start of the session is kept');
  t.is(tr.lines.at(-1)!.text, '250 2.0.0 Ok', 'and the newest lines');
  t.true(tr.session.lines >= 1200);
  // Many sessions: only the most recent ten are kept.
  for (let n = 0; n < 25; n++) {
    const x = await LineClient.connect(lab.port('smtp'));
    await x.line();
    await smtpSay(x, 'QUIT');
  }
  await lab.events.settled();
  t.true(hub.listSessions({ role: 'instructor', address: '' }).length <= 10);
});

test('history stays bounded by octets whatever the lines', async (t) => {
  const lab = await startLab(t, { history: { linesPerSession: 100_000, sessions: 50, maxBytes: 1 << 20, replayEvents: 100_000, linesPerSecond: 0 } });
  const hub = lab.get<LabHub>(TOKENS.Lab);
  const long = `NOOP ${'y'.repeat(480)}`;
  for (let s = 0; s < 3; s++) {
    const c = await LineClient.connect(lab.port('smtp'));
    await c.line();
    for (let n = 0; n < 2000; n++) c.write(`${long}\r\n`);
    for (let n = 0; n < 2000; n++) t.truthy(await c.line());
  }
  await lab.events.settled();
  const stats = hub.getStats();
  t.true(stats.recorded >= 12_000, `${stats.recorded} lines recorded`);
  t.true(stats.bytesKept <= 1 << 20, `${stats.bytesKept} octets kept`);
  t.true(stats.historyBytes <= 1 << 19, `${stats.historyBytes} octets in the replay window`);
});

test("one session's transcript stays within maxBytesPerSession and cannot push the class's other sessions out of maxBytes", async (t) => {
  const perSession = 64 * 1024;
  const lab = await startLab(t, {
    history: { linesPerSession: 100_000, sessions: 50, maxBytes: 1 << 20, maxBytesPerSession: perSession, replayEvents: 100_000, linesPerSecond: 0 },
  });
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const hub = lab.get<LabHub>(TOKENS.Lab);
  // Five short sessions of the class, closed.
  const ports: number[] = [];
  for (let n = 0; n < 5; n++) {
    const x = await LineClient.connect(lab.port('smtp'));
    await x.line();
    ports.push(x.socket.localPort!);
    await smtpSay(x, `EHLO student-${n}`);
    await smtpSay(x, 'QUIT');
  }
  // Then one session that never stops talking: about 2.4 MB of lines, more than the whole budget.
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  const long = `NOOP ${'y'.repeat(480)}`;
  for (let n = 0; n < 3000; n++) c.write(`${long} ${n}\r\n`);
  for (let n = 0; n < 3000; n++) t.truthy(await c.line());
  await lab.events.settled();
  const sessions = hub.listSessions({ role: 'instructor', address: '' }).filter((s) => s.service === 'smtp');
  for (const p of ports)
    t.true(
      sessions.some((s) => s.peer.port === p),
      `the closed session from port ${p} is still kept`,
    );
  const busy = sessions.find((s) => s.peer.port === c.socket.localPort)!;
  t.truthy(busy);
  const tr = JSON.parse((await request(http, `/lab/api/sessions/${busy.id}`, { headers: { Cookie: cookie } })).body) as TranscriptData;
  const kept = tr.lines.filter((l) => l.kind !== 'skipped').reduce((a, l) => a + lineBytes(l), 0);
  t.true(kept <= perSession, `${kept} octets kept of the busy session`);
  t.true(tr.lines[1].text.startsWith('220'), 'the start of the session is kept');
  t.regex(tr.lines.at(-1)!.text, /^250/, 'and the newest lines');
  t.true(
    tr.lines.some((l) => l.text === `${long} 2999`),
    'the newest command is kept',
  );
  t.true(
    tr.lines.some((l) => l.kind === 'skipped'),
    'with a marker for what was dropped',
  );
  t.true(hub.getStats().bytesKept <= 1 << 20);
});

test('a flood past the recording budget: every command answered, the services skip the lines over it, the session says how many it missed', async (t) => {
  const lab = await startLab(t, { history: { linesPerSecond: 200, burstLines: 200 } });
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const total = 3000;
  // The whole dialogue: the greeting, the flood and its answers, QUIT and its answer.
  const whole = 1 + 2 * total + 2;
  let session: string | undefined;
  let shown = 0;
  let missed = 0;
  let told!: () => void;
  const allTold = new Promise<void>((r) => (told = r));
  const sub = lab.events.subscribe((e) => {
    if (e.service !== 'smtp' || (session !== undefined && e.session !== session)) return;
    if (e.type === 'session.open') session = e.session;
    else if (e.type === 'command' || e.type === 'reply') shown++;
    else if (e.type === 'notice' && typeof e.detail?.thinned === 'number') missed += e.detail.thinned;
    if (shown + missed === whole) told();
  });
  t.teardown(() => sub.unsubscribe());
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  for (let n = 0; n < total; n++) c.write(`NOOP ${n}\r\n`);
  let answered = 0;
  for (let n = 0; n < total; n++) if ((await c.line())?.startsWith('250')) answered++;
  t.is(answered, total, 'the flood was served in full');
  await smtpSay(c, 'QUIT');
  // The lines a session missed are told a tenth of a second after the first, then once a second.
  await Promise.race([allTold, new Promise((_, reject) => setTimeout(() => reject(new Error(`${shown} shown + ${missed} told missed != ${whole}`)), 10_000))]);
  t.true(missed >= 2 * total - 2000, `${missed} lines missed, ${shown} shown`);
  await lab.events.settled();
  const tr = JSON.parse((await request(http, `/lab/api/sessions/${session!}`, { headers: { Cookie: cookie } })).body) as TranscriptData;
  const notes = tr.lines.filter((l) => /lines? not recorded here/.test(l.text));
  t.true(notes.length >= 1, 'the transcript says where lines were not recorded');
  t.is(
    notes.reduce((a, l) => a + Number(/^(\d+)/.exec(l.text)![1]), 0),
    missed,
    'and how many',
  );
  t.is(tr.lines.filter((l) => l.kind === 'command' || l.kind === 'reply').length, shown, 'every line built was kept');
  const stats = JSON.parse((await request(http, '/lab/api/stats', { headers: { Cookie: cookie } })).body) as { thinned: number };
  t.true(stats.thinned >= missed, `the lab's stats count ${stats.thinned} lines not recorded`);
});

test('a connection flood past the recording budget: every connection served, the sessions over it counted and not kept, instructors told', async (t) => {
  // 5 lines a second, 5 at once: one new session a second is recorded.
  const lab = await startLab(t, { history: { linesPerSecond: 5, burstLines: 5 } });
  const http = lab.port('http');
  const cookie = await login(http, 'teach', USERS[2].password);
  const watcher = new LabStreamClient(http, { cookie });
  await watcher.open();
  t.teardown(() => watcher.close());
  await watcher.until(() => watcher.hello() !== undefined);
  const hub = lab.get<LabHub>(TOKENS.Lab);
  const before = hub.listSessions({ role: 'instructor', address: '' }).filter((s) => s.service === 'smtp').length;
  const thinnedBefore = hub.getStats().sessionsThinned;
  const started = Date.now();
  const clients = await Promise.all(Array.from({ length: 40 }, () => LineClient.connect(lab.port('smtp'))));
  const greetings = await Promise.all(clients.map((c) => c.line()));
  const seconds = Math.ceil((Date.now() - started) / 1000);
  t.true(
    greetings.every((g) => g?.startsWith('220')),
    'every connection was greeted',
  );
  await Promise.all(clients.map((c) => smtpSay(c, 'QUIT')));
  await lab.events.settled();
  const kept = hub.listSessions({ role: 'instructor', address: '' }).filter((s) => s.service === 'smtp').length - before;
  const thinned = hub.getStats().sessionsThinned - thinnedBefore;
  // One a second: the flood took `seconds` (rounded up), so at most the one at the start more than that.
  t.true(kept <= seconds + 1, `${kept} of 40 sessions kept in ${seconds} s`);
  t.is(kept + thinned, 40, `${kept} kept and ${thinned} counted, not kept: every connection is one or the other`);
  await watcher.until(
    () => watcher.of('notice').some((n) => /connections in a second not recorded/.test(JSON.stringify(n))),
    10_000,
    'a notice to instructors',
  );
});

test('an HTTP Connection: close flood past the session budget: every request answered and counted, no event built for a session not recorded', async (t) => {
  // 5 lines a second, 5 at once: one new session a second is recorded, the rest are decided "not recorded" as they open.
  const lab = await startLab(t, { history: { linesPerSecond: 5, burstLines: 5 } });
  const http = lab.port('http');
  const board = lab.get<StatusBoard>(TOKENS.Status);
  const hub = lab.get<LabHub>(TOKENS.Lab);
  const accepted = (): number => board.all().find((s) => s.name === 'http')?.accepted ?? 0;
  await lab.events.settled();
  const acceptedBefore = accepted();
  const thinnedBefore = hub.getStats().sessionsThinned;
  const linesThinnedBefore = lab.events.recording.thinned;
  const opened = new Set<string>();
  const lineSessions = new Set<string>();
  const probe = lab.events.subscribe((e) => {
    if (e.type === 'session.open') opened.add(e.session);
    else if ((e.type === 'command' || e.type === 'reply') && e.session !== undefined) lineSessions.add(e.session);
  });
  t.teardown(() => probe.unsubscribe());
  const ask = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ port: http, host: '127.0.0.1' }, () => s.write('GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n'));
      let got = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (got += d));
      s.once('end', () => resolve(got));
      s.once('error', reject);
    });
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 30 }, () => ask()));
  const seconds = Math.ceil((Date.now() - started) / 1000);
  t.true(
    answers.every((a) => /^HTTP\/1\.1 \d{3} /.test(a)),
    'every request was answered',
  );
  await lab.events.settled();
  t.is(accepted() - acceptedBefore, 30, "the overview's connection count has every one of them");
  const thinned = hub.getStats().sessionsThinned - thinnedBefore;
  // One a second: the flood took `seconds` (rounded up), so at most the one at the start more than that.
  t.true(thinned >= 1 && 30 - thinned <= seconds + 1, `${30 - thinned} of 30 sessions recorded in ${seconds} s`);
  t.is(opened.size, 30 - thinned, 'a session.open for each recorded session only');
  t.true(lineSessions.size >= 1, 'the recorded sessions have their lines');
  t.deepEqual(
    [...lineSessions].filter((id) => !opened.has(id)),
    [],
    'no request or status line was built for a session not recorded',
  );
  // The line budget (five a second, five at once) may thin a recorded session's own two lines.
  const linesThinned = lab.events.recording.thinned - linesThinnedBefore;
  t.true(linesThinned <= 2 * (30 - thinned), `${linesThinned} lines thinned: only recorded sessions' lines are counted against the line budget`);
});

test('login: HttpOnly SameSite=Strict cookie, refused and throttled attempts, logout, pin for instructors only', async (t) => {
  const lab = await startLab(t, { loginFailuresPerMinute: 3 });
  const http = lab.port('http');
  const ok = await request(http, '/lab/login', {
    method: 'POST',
    body: `user=alice&password=${encodeURIComponent(USERS[0].password)}`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: `http://127.0.0.1:${http}` },
  });
  t.is(ok.status, 303);
  t.is(ok.headers.location, '/lab');
  const cookie = ok.headers['set-cookie']![0];
  t.regex(cookie, /^labnet_lab=[A-Za-z0-9_-]{43}; Path=\/lab; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
  t.notRegex(cookie, /Secure/, 'not Secure over plain HTTP (the browser would drop it)');
  // A form posted from another site is refused.
  const cross = await request(http, '/lab/login', {
    method: 'POST',
    body: `user=alice&password=${encodeURIComponent(USERS[0].password)}`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://evil.example' },
  });
  t.is(cross.status, 403);
  // Wrong passwords: 401 with the form again, then 429 for this address.
  for (let n = 0; n < 3; n++) {
    const r = await request(http, '/lab/login', { method: 'POST', body: 'user=alice&password=nope', localAddress: '127.0.0.9' });
    t.is(r.status, 401);
    t.regex(r.body, /Wrong user name or password/);
    t.regex(r.body, /name="password" type="password"/);
  }
  const throttled = await request(http, '/lab/login', { method: 'POST', body: `user=alice&password=${USERS[0].password}`, localAddress: '127.0.0.9' });
  t.is(throttled.status, 429);
  // The page shows who is logged in; logout forgets the login.
  const c = cookie.split(';')[0];
  const page = await request(http, '/lab', { headers: { Cookie: c } });
  t.regex(page.body, /<b>alice<\/b>/);
  // Pinning is for instructors.
  const pinByStudent = await request(http, '/lab/api/pin', {
    method: 'POST',
    body: '{"session":null}',
    headers: { Cookie: c, 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${http}` },
  });
  t.is(pinByStudent.status, 403);
  const tc = await login(http, 'teach', USERS[2].password);
  const pinByTeacher = await request(http, '/lab/api/pin', {
    method: 'POST',
    body: '{"session":null}',
    headers: { Cookie: tc, 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${http}` },
  });
  t.is(pinByTeacher.status, 204);
  const out = await request(http, '/lab/logout', { method: 'POST', body: '', headers: { Cookie: c, Origin: `http://127.0.0.1:${http}` } });
  t.is(out.status, 303);
  t.regex(out.headers['set-cookie']![0], /Max-Age=0/);
  const after = await request(http, '/lab/api/sessions', { headers: { Cookie: c } });
  t.is((JSON.parse(after.body) as { viewer: { role: string } }).viewer.role, 'anonymous');
});

test('every /lab answer carries a strict Content-Security-Policy; the bundle is served from the lab itself', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  for (const path of ['/lab', '/lab/', '/lab/app.js', '/lab/app.css', '/lab/api/sessions', '/lab/nothing']) {
    const r = await request(http, path);
    const csp = String(r.headers['content-security-policy']);
    t.regex(csp, /default-src 'none'/, path);
    t.regex(csp, /script-src 'self'/, path);
    t.notRegex(csp, /unsafe-inline|unsafe-eval/, path);
    t.is(r.headers['x-content-type-options'], 'nosniff', path);
  }
  const page = await request(http, '/lab');
  t.notRegex(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  t.notRegex(page.body, /\sstyle=|<style/, 'no inline style');
  t.notRegex(page.body, /https?:\/\/(?!127)/, 'nothing from another host');
  t.regex(page.body, /<input name="user"/);
  t.regex(page.body, /name="password" type="password"/);
  const js = await request(http, '/lab/app.js');
  t.is(js.status, 200);
  t.regex(String(js.headers['content-type']), /javascript/);
  t.false(/innerHTML|insertAdjacentHTML|document\.write/.test(js.body), 'the bundle never parses markup');
  // The watch token file is private to the data directory's owner.
  const watch = join(lab.config.dataDir, 'lab', 'watch.json');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      statSync(watch);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  t.is(statSync(watch).mode & 0o777, 0o600);
  const token = (JSON.parse(readFileSync(watch, 'utf8')) as { token: string }).token;
  const stats = await request(http, '/lab/api/stats', { headers: { Authorization: `Bearer ${token}` } });
  t.is(stats.status, 200);
  t.is((await request(http, '/lab/api/stats', { headers: { Authorization: 'Bearer wrong' } })).status, 403);
});

test('instructors must be accounts among users', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-lab-cfg-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const err = await t.throwsAsync(
    startLabnet({
      defaults: false,
      logLevel: 'silent',
      config: { dataDir, users: USERS, instructors: ['teach', 'nobody'], services: { http: { port: 0, httpsPort: 0 } } },
    }),
  );
  t.regex(err.message, /instructors\[1\]: got "nobody", expected the name of one of the users/);
});

test('each session links to its TLS handshake: SMTP STARTTLS and implicit TLS (SMTPS)', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const teach = await followAs(t, http, USERS[2]);
  const cookie = teach.options.cookie!;
  // STARTTLS: plain first, then the same connection switches to TLS.
  const plain = await LineClient.connect(lab.port('smtp'));
  await plain.line();
  await smtpSay(plain, 'EHLO starttls-client');
  await smtpSay(plain, 'STARTTLS');
  const port = plain.socket.localPort!;
  plain.socket.removeAllListeners('data');
  const secure = tls.connect({ socket: plain.socket, servername: 'localhost', rejectUnauthorized: false });
  await new Promise<void>((r, j) => {
    secure.once('secureConnect', () => r());
    secure.once('error', j);
  });
  const after = new LineClient(secure);
  after.write('EHLO after-tls\r\n');
  while (!/^250 /.test((await after.line()) ?? '250 ')) {
    /* the EHLO answer */
  }
  after.write('QUIT\r\n');
  await after.line();
  // Implicit TLS: SMTPS.
  const s2 = tls.connect({ host: '127.0.0.1', port: lab.port('smtp', 'smtps'), servername: 'localhost', rejectUnauthorized: false });
  const implicit = new LineClient(s2);
  await implicit.line();
  implicit.write('QUIT\r\n');
  await implicit.line();
  const idOf = (p: number): string | undefined => [...teach.sessions().values()].find((s) => s.peer.port === p)?.id;
  await teach.until(() => idOf(port) !== undefined && teach.lines(idOf(port)).some((l) => l.kind === 'close'), 10_000, 'the STARTTLS session');
  const id = idOf(port)!;
  const lines = teach.lines(id);
  const marker = lines.findIndex((l) => l.kind === 'tls' && l.handshake === true);
  t.true(marker > 0, 'the switch to TLS is marked, with its handshake');
  t.false(
    lines.slice(0, marker).some((l) => l.encrypted),
    'nothing before the switch is badged encrypted',
  );
  t.true(lines.slice(marker + 1).some((l) => l.text === 'EHLO after-tls' && l.encrypted === true));
  t.is(teach.sessions().get(id)!.tls, 'starttls');
  const hs = JSON.parse((await request(http, `/lab/api/sessions/${id}/tls`, { headers: { Cookie: cookie } })).body) as HandshakeData;
  t.is(hs.messages[0].name, 'ClientHello');
  t.true(hs.messages.some((m) => m.name === 'ServerHello'));
  t.false(JSON.stringify(hs).includes('TRAFFIC_SECRET'), 'no key-log secrets in the lab');
  const findSmtps = () => [...teach.sessions().values()].find((s) => s.listener === 'smtps');
  // The stream carries the session a moment after the server answered QUIT: wait for it.
  await teach.until(() => findSmtps() !== undefined, 10_000, 'the SMTPS session');
  const smtps = findSmtps();
  t.truthy(smtps);
  t.is(smtps!.tls, 'implicit');
  await teach.until(() => teach.sessions().get(smtps!.id)?.handshake === true, 10_000, 'the SMTPS handshake');
  t.is((await request(http, `/lab/api/sessions/${smtps!.id}/tls`, { headers: { Cookie: cookie } })).status, 200);
});

test('payloads show the real exchange: SMTP DATA header and body excerpt, POP3 RETR and TOP, HTTP header fields; credentials and cookies stay redacted', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const teach = await followAs(t, http, USERS[2]);
  const cookie = teach.options.cookie!;
  const body = `${'The body of the message, line after line.\n'.repeat(400)}THE-END-OF-THE-BODY\n`;
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: lab.port('smtp'),
    secure: false,
    ignoreTLS: true,
    auth: { user: 'bob', pass: USERS[1].password },
  });
  await transport.sendMail({ from: 'bob@lab.test', to: 'alice@lab.test', subject: 'Payload <b>check</b>', text: body });
  const data = (): LineData | undefined => teach.lines().find((l) => l.kind === 'command' && l.text.startsWith('<message data:'));
  await teach.until(() => data() !== undefined, 10_000, 'the DATA line');
  const d = data()!;
  // A long payload is not on the stream: the follower fetches it from the transcript when it wants it.
  t.is(d.payload, undefined, 'a message excerpt does not travel to every follower');
  t.true(d.payloadLater);
  const payloadOf = async (l: LineData, as = cookie): Promise<string | undefined> => {
    if (l.payload !== undefined) return l.payload;
    const r = await request(http, `/lab/api/sessions/${l.session}/lines/${l.seq}/payload`, { headers: { Cookie: as } });
    return r.status === 200 ? (JSON.parse(r.body) as { payload: string }).payload : undefined;
  };
  const dp = (await payloadOf(d))!;
  t.true(dp.includes('Subject: Payload <b>check</b>'), 'the header section is shown');
  t.true(dp.includes('The body of the message, line after line.'), 'the start of the body is shown');
  t.false(dp.includes('THE-END-OF-THE-BODY'), 'the body is cut to an excerpt');
  const alice = await login(http, 'alice', USERS[0].password);
  t.is(await payloadOf(d, alice), undefined, "another student's session: no payload (404)");
  t.true(d.payloadBytes! > body.length, `payloadBytes ${d.payloadBytes} is the whole message`);
  // POP3: RETR and TOP carry the message (the whole header, a bounded excerpt of the body).
  const p = await LineClient.connect(lab.port('pop3'));
  await p.line();
  p.write(`USER alice\r\nPASS ${USERS[0].password}\r\nTOP 1 2\r\nRETR 1\r\nQUIT\r\n`);
  while ((await p.line()) !== null);
  const replies = (): LineData[] =>
    teach.lines().filter((l) => l.kind === 'reply' && (l.payload !== undefined || l.payloadLater === true) && /octets of message follow/.test(l.text));
  await teach.until(() => replies().length >= 2, 10_000, 'the TOP and RETR replies');
  const [top, retr] = replies();
  const topPayload = (await payloadOf(top))!;
  const retrPayload = (await payloadOf(retr))!;
  t.true(topPayload.includes('Subject: Payload <b>check</b>'));
  t.true(topPayload.includes('Received: '), 'the trace header the server added is part of the stored message');
  t.true(top.payloadBytes! < 2000, 'TOP 1 2 sends the header and two lines');
  t.true(retrPayload.includes('Subject: Payload <b>check</b>'));
  t.true(retr.payloadBytes! > body.length);
  t.false(retrPayload.includes('THE-END-OF-THE-BODY'));
  // HTTP: request and response header fields, with credentials and cookies redacted.
  await request(http, '/index.html', {
    headers: { Authorization: 'Basic c2VjcmV0LXVzZXI6c2VjcmV0LXBhc3M=', Cookie: 'tracker=cookie-secret-1', 'X-Student': 'probe <i>1</i>' },
  });
  const reqLine = (): LineData | undefined =>
    teach.lines().find((l) => l.kind === 'command' && l.text.startsWith('GET /index.html') && l.payload?.includes('X-Student'));
  await teach.until(() => reqLine() !== undefined, 10_000, 'the GET line');
  const g = reqLine()!;
  t.true(g.payload!.includes('X-Student: probe <i>1</i>'));
  t.true(g.payload!.includes('Authorization: <redacted>'));
  t.true(g.payload!.includes('Cookie: <redacted>'));
  const status = (): LineData | undefined => teach.lines().find((l) => l.kind === 'reply' && l.session === g.session && l.text.startsWith('HTTP/1.1 200'));
  await teach.until(() => status() !== undefined, 10_000, 'the status line');
  t.regex(status()!.payload!, /^Content-Type: text\/html/m);
  t.regex(status()!.payload!, /^Content-Length: \d+/m);
  t.false(status()!.payload!.startsWith('HTTP/1.1'), 'the status line is the line itself, not repeated in the payload');
  // The lab's own login answer sets a cookie: its value never shows.
  await login(http, 'bob', USERS[1].password);
  await teach.until(() => teach.lines().some((l) => l.kind === 'reply' && l.payload?.includes('Set-Cookie: <redacted>') === true), 10_000, 'the login answer');
  const everything = teach.raw;
  for (const needle of ['c2VjcmV0LXVzZXI6c2VjcmV0LXBhc3M=', 'cookie-secret-1', USERS[1].password, cookie.split('=')[1]])
    t.false(everything.includes(needle), `never shows ${needle}`);
});

test('an HTTPS client that half-closes after its request gets the answer, and the lab shows the session closed (node:tls, openssl s_client, curl)', async (t) => {
  const lab = await startLab(t);
  const http = lab.port('http');
  const https = lab.port('http', 'https');
  const teach = await followAs(t, http, USERS[2]);
  const closedAfterReply = (port: number): boolean => {
    const id = sessionOfPeer(teach, port);
    if (id === undefined) return false;
    const kinds = teach.lines(id).map((l) => l.kind);
    return kinds.includes('reply') && kinds.at(-1) === 'close';
  };
  // node:tls: close_notify and FIN right after the request (TLS 1.3 allows the server to answer, RFC 8446 section 6.1).
  const got = await new Promise<{ port: number; text: string }>((resolve, reject) => {
    let text = '';
    const raw = net.connect({ port: https, host: '127.0.0.1', allowHalfOpen: true });
    const s = tls.connect({ socket: raw, servername: 'localhost', rejectUnauthorized: false }, () => {
      s.end('GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    let local = 0;
    raw.once('connect', () => (local = raw.localPort!));
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('close', () => resolve({ port: local, text }));
    s.on('error', reject);
  });
  t.regex(got.text, /^HTTP\/1\.1 200 OK\r\n/, 'the half-closed client still got its answer');
  await teach.until(() => closedAfterReply(got.port), 10_000, 'the node:tls session closed after its reply');
  t.regex(teach.lines(sessionOfPeer(teach, got.port)).at(-1)!.text, /connection closed \(session ended\).* [1-9]\d* out$/);
  // openssl s_client without -ign_eof: at the end of its input it sends close_notify and closes.
  // (Spawned asynchronously: the lab runs in this process.)
  const { spawn } = await import('node:child_process');
  const run = (cmd: string, args: string[], input: string): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (status) => resolve({ status, stdout, stderr }));
      p.stdin.end(input);
    });
  const before = new Set(teach.sessions().keys());
  const r = await run(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${https}`, '-servername', 'localhost', '-no_ign_eof'],
    'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n',
  );
  t.is(r.status, 0, r.stderr);
  const newOne = (): string | undefined => [...teach.sessions().keys()].find((k) => !before.has(k));
  await teach.until(() => newOne() !== undefined && teach.lines(newOne()).some((l) => l.kind === 'close'), 10_000, 'the s_client session closed');
  t.truthy(teach.sessions().get(newOne()!)!.closedAt);
  // curl: a whole exchange, closed by curl.
  const seen = new Set(teach.sessions().keys());
  const c = await run('curl', ['-sk', '--http1.1', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${https}/index.html`], '');
  t.is(c.stdout, '200');
  const curlOne = (): string | undefined => [...teach.sessions().keys()].find((k) => !seen.has(k) && teach.sessions().get(k)!.listener === 'https');
  await teach.until(() => curlOne() !== undefined && teach.lines(curlOne()).at(-1)?.kind === 'close', 10_000, 'the curl session closed');
});

test('a TLS session whose handshake was not tapped still shows what node:tls reported: version, suite, ALPN, SNI, certificate (HTTPS with handshakeDemo off, SMTP STARTTLS with tapping off)', async (t) => {
  const lab = await startLab(t, {}, { handshakeDemo: false });
  // The lab taps every STARTTLS while it runs; switched off here, STARTTLS runs on plain node:tls too.
  lab.get<TlsMaterial>(TOKENS.Tls).tapAll = false;
  const http = lab.port('http');
  const teach = await followAs(t, http, USERS[2]);
  const cookie = teach.options.cookie!;
  // HTTPS, implicit TLS, with SNI and ALPN.
  const port = await new Promise<number>((resolve, reject) => {
    const s = tls.connect(
      { port: lab.port('http', 'https'), host: '127.0.0.1', servername: 'localhost', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false },
      () => {
        s.write('GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      },
    );
    let local = 0;
    s.once('secureConnect', () => (local = s.localPort!));
    s.on('data', () => {});
    s.on('close', () => resolve(local));
    s.on('error', reject);
  });
  await teach.until(
    () => sessionOfPeer(teach, port) !== undefined && teach.sessions().get(sessionOfPeer(teach, port)!)!.handshake,
    10_000,
    'the HTTPS session with its handshake',
  );
  const id = sessionOfPeer(teach, port)!;
  t.regex(teach.sessions().get(id)!.tlsSummary!, /^TLS 1\.3, TLS_AES/);
  t.true(teach.lines(id).some((l) => l.kind === 'tls' && l.handshake === true && /not recorded message by message/.test(l.text)));
  const hs = JSON.parse((await request(http, `/lab/api/sessions/${id}/tls`, { headers: { Cookie: cookie } })).body) as HandshakeData;
  t.is(hs.messages.length, 0);
  t.is(hs.version, 'TLS 1.3');
  t.is(hs.alpn, 'http/1.1');
  t.is(hs.serverName, 'localhost');
  const rows = Object.fromEntries(hs.observed!.map((r) => [r.name, r.value]));
  t.regex(rows['certificate subject'], /CN=/);
  t.regex(rows['certificate names'], /DNS:localhost/);
  t.regex(rows['SHA-256 fingerprint'], /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  // SMTP STARTTLS, untapped: the switch is marked and links to what node:tls reported.
  const plain = await LineClient.connect(lab.port('smtp'));
  await plain.line();
  await smtpSay(plain, 'EHLO untapped');
  await smtpSay(plain, 'STARTTLS');
  const sport = plain.socket.localPort!;
  plain.socket.removeAllListeners('data');
  const secure = tls.connect({ socket: plain.socket, servername: 'localhost', rejectUnauthorized: false });
  await new Promise<void>((r, j) => {
    secure.once('secureConnect', () => r());
    secure.once('error', j);
  });
  const after = new LineClient(secure);
  after.write('QUIT\r\n');
  await after.line();
  await teach.until(
    () => sessionOfPeer(teach, sport) !== undefined && teach.lines(sessionOfPeer(teach, sport)).some((l) => l.kind === 'close'),
    10_000,
    'the STARTTLS session',
  );
  const sid = sessionOfPeer(teach, sport)!;
  t.is(teach.sessions().get(sid)!.tls, 'starttls');
  t.true(teach.lines(sid).some((l) => l.kind === 'tls' && l.handshake === true));
  const shs = JSON.parse((await request(http, `/lab/api/sessions/${sid}/tls`, { headers: { Cookie: cookie } })).body) as HandshakeData;
  t.is(shs.serverName, 'localhost');
  t.true(shs.observed!.some((r) => r.name === 'cipher suite'));
});

test('over HTTPS the login cookie is also Secure (and still HttpOnly, SameSite=Strict)', async (t) => {
  const lab = await startLab(t);
  const port = lab.port('http', 'https');
  const https = await import('node:https');
  const body = `user=alice&password=${encodeURIComponent(USERS[0].password)}`;
  const res = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/lab/login',
        method: 'POST',
        servername: 'localhost',
        rejectUnauthorized: false,
        agent: false,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': String(body.length),
          Origin: `https://localhost:${port}`,
          Host: `localhost:${port}`,
        },
      },
      (r) => {
        r.resume();
        r.on('end', () => resolve({ status: r.statusCode ?? 0, cookie: r.headers['set-cookie']?.[0] ?? '' }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  t.is(res.status, 303);
  t.regex(res.cookie, /^labnet_lab=[A-Za-z0-9_-]{43}; Path=\/lab; .*HttpOnly/);
  t.regex(res.cookie, /; Secure(;|$)/);
  t.regex(res.cookie, /SameSite=Strict/);
});
