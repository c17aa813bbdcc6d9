// Transcript tests against the real labnet process: limits (literals before login, APPENDLIMIT,
// command length, sessions per user, autologout, protocol errors), \Recent, when other sessions'
// changes are reported, and (in-process) that LOGIN/AUTHENTICATE secrets never reach events.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import type { ProtocolEvent } from '../../core/events.js';
import type { LabProcess } from '../support/lab-process.js';
import { floodWithoutReading, silentClient } from '../core/line-flood.js';
import { RawImap } from './raw-client.js';
import { sendMail, startMailLab } from './helpers.js';

let lab: LabProcess;
const opened: RawImap[] = [];

test.before(async () => {
  lab = await startMailLab({ maxSessionsPerUser: 3, maxSessionsPerUserAndAddress: 3, preAuthTimeoutMs: 1500, appendLimit: 100_000 });
  await sendMail(lab, [
    { to: 'alice@lab.test', subject: 'm1', text: 'one' },
    { to: 'alice@lab.test', subject: 'm2', text: 'two' },
    { to: 'alice@lab.test', subject: 'm3', text: 'three' },
  ]);
});

test.after.always(async () => {
  for (const c of opened) c.close();
  await lab?.stop();
  lab?.cleanup();
});

async function client(login?: string): Promise<RawImap> {
  const c = await RawImap.open(lab.port('imap'));
  opened.push(c);
  if (login) {
    const r = await c.cmd('L', `LOGIN ${login} ${login}-lab`);
    if (!/^L OK/m.test(r)) throw new Error(r);
  }
  return c;
}

test.serial('before login only small literals: a huge LOGIN literal is refused without a continuation', async (t) => {
  const c = await client();
  c.write('a LOGIN {100000}\r\n');
  const r = await c.until(/^a (OK|NO|BAD).*\r\n/m);
  t.regex(r, /^a NO \[TOOBIG\]/m);
  t.notRegex(r, /^\+/m, 'no continuation request');
  // LITERAL+ of the same size before login: read, dropped, refused; the session goes on.
  c.write(`b LOGIN {2000+}\r\n${'x'.repeat(2000)} pw\r\n`);
  t.regex(await c.until(/^b .*\r\n/m), /^b NO \[TOOBIG\]/m);
  t.regex(await c.cmd('c', 'NOOP'), /^c OK/m);
  // A small synchronising literal is fine.
  c.write('d LOGIN {5}\r\n');
  t.regex(await c.until(/^\+ .*\r\n/m), /^\+ /m);
  c.write('alice {9}\r\n');
  await c.until(/^\+ .*\r\n/m);
  c.write('alice-lab\r\n');
  t.regex(await c.until(/^d (OK|NO|BAD).*\r\n/m), /^d OK \[CAPABILITY /m);
  c.close();
});

test.serial('APPENDLIMIT: a bigger APPEND is refused before the client sends it', async (t) => {
  const c = await client('alice');
  c.write('a APPEND INBOX {200000}\r\n');
  const r = await c.until(/^a .*\r\n/m);
  t.regex(r, /^a NO \[TOOBIG\]/m);
  t.notRegex(r, /^\+/m);
  const ok = await c.cmd('b', 'STATUS INBOX (MESSAGES)');
  t.regex(ok, /MESSAGES 3\)/);
  c.close();
});

test.serial('an over-long command line gets BAD and the session goes on; 50 errors end it', async (t) => {
  const c = await client('alice');
  c.write(`a NOOP ${'x'.repeat(70_000)}\r\n`);
  t.regex(await c.until(/BAD.*\r\n/), /BAD \[TOOBIG\]/);
  t.regex(await c.cmd('b', 'NOOP'), /^b OK/m);
  for (let i = 0; i < 48; i++) c.write(`e${i} FROB\r\n`);
  const r = await c.until(/^e47 BAD.*\r\n/m);
  t.is(r.match(/ BAD /g)!.length, 48);
  c.write('z FROB\r\n');
  t.regex(await c.until(/^\* BYE/m), /\* BYE Too many/);
});

test.serial('sessions per user are limited', async (t) => {
  const a = await client('bob');
  const b = await client('bob');
  const c = await client('bob');
  const d = await client();
  t.regex(await d.cmd('x', 'LOGIN bob bob-lab'), /^x NO \[LIMIT\]/m);
  a.close();
  // The server frees the slot once it has seen the close: wait for that state, not for a fixed time.
  let r = '';
  for (let i = 0; i < 100 && !/^y\d+ OK/m.test(r); i++) {
    if (i > 0) await new Promise((res) => setTimeout(res, 50));
    r = await d.cmd(`y${i}`, 'LOGIN bob bob-lab');
  }
  t.regex(r, /^y\d+ OK/m);
  b.close();
  c.close();
  d.close();
});

test.serial('autologout before login: BYE then close', async (t) => {
  const c = await client();
  const r = await c.until(/\* BYE.*\r\n/, 20_000);
  t.regex(r, /\* BYE Autologout/);
  // The server half-closes, then drops the socket after a short grace even if we never close.
  for (let i = 0; i < 100 && !c.closed; i++) await new Promise((r) => setTimeout(r, 100));
  t.true(c.closed);
});

test.serial('\\Recent: the first SELECT claims, others and EXAMINE do not', async (t) => {
  const ex = await client('carol');
  t.regex(await ex.cmd('e', 'EXAMINE INBOX'), /\* 0 RECENT/);
  await sendMail(lab, [{ to: 'carol@lab.test', subject: 'r1', text: 'x' }]);
  const e2 = await ex.cmd('e2', 'EXAMINE INBOX');
  t.regex(e2, /\* 1 EXISTS/);
  t.regex(e2, /\* 1 RECENT/, 'EXAMINE shows \\Recent without claiming it');
  const a = await client('carol');
  const sa = await a.cmd('s', 'SELECT INBOX');
  t.regex(sa, /\* 1 RECENT/);
  t.regex(await a.cmd('f', 'FETCH 1 FLAGS'), /FLAGS \(\\Recent\)/);
  const b = await client('carol');
  t.regex(await b.cmd('s', 'SELECT INBOX'), /\* 0 RECENT/);
  t.regex(await b.cmd('f', 'FETCH 1 FLAGS'), /FLAGS \(\)/);
  // A new delivery is recent for exactly one of the two selected sessions.
  await sendMail(lab, [{ to: 'carol@lab.test', subject: 'r2', text: 'y' }]);
  const na = await a.cmd('n', 'NOOP');
  const nb = await b.cmd('n', 'NOOP');
  t.regex(na, /\* 2 EXISTS/);
  t.regex(nb, /\* 2 EXISTS/);
  const [ra, rb] = [na, nb].map((r) => Number(/\* (\d+) RECENT/.exec(r)![1])) as [number, number];
  // A already held r1; the new message is \Recent in exactly one of the two sessions.
  t.is(ra - 1 + rb, 1, `RECENT ${ra} and ${rb}`);
  for (const c of [ex, a, b]) c.close();
});

test.serial('EXPUNGE from another session: not during FETCH, STORE or SEARCH; sent by NOOP and UID FETCH', async (t) => {
  const a = await client('alice');
  const b = await client('alice');
  await a.cmd('s', 'SELECT INBOX');
  await b.cmd('s', 'SELECT INBOX');
  await b.cmd('d', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.cmd('x', 'EXPUNGE');
  for (const [tag, cmd] of [
    ['f', 'FETCH 1:* (FLAGS)'],
    ['st', 'STORE 2 +FLAGS.SILENT (\\Flagged)'],
    ['se', 'SEARCH ALL'],
  ] as const) {
    const r = await a.cmd(tag, cmd);
    t.notRegex(r, /EXPUNGE/, cmd);
    t.regex(r, new RegExp(`^${tag} OK`, 'm'));
  }
  const se = await a.cmd('se2', 'SEARCH ALL');
  t.regex(se, /\* SEARCH 1 2 3\r\n/, 'sequence numbers still include the expunged message');
  const u = await a.cmd('u', 'UID FETCH 1:* (FLAGS)');
  t.regex(u, /\* 1 EXPUNGE\r\n/);
  t.regex(await a.cmd('se3', 'SEARCH ALL'), /\* SEARCH 1 2\r\n/);
  a.close();
  b.close();
});

test('events: every command is published, LOGIN and AUTHENTICATE secrets redacted', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-imap-events-'));
  const handle = await startLabnet({
    defaults: false,
    only: ['imap'],
    dataDir,
    logLevel: 'silent',
    config: { listen: '127.0.0.1', users: [{ name: 'alice', password: 'S3cret-pw' }], services: { imap: { port: 0 } } },
  });
  const events: ProtocolEvent[] = [];
  handle.events.subscribe((e) => events.push(e));
  try {
    const c = await RawImap.open(handle.port('imap'));
    t.regex(await c.cmd('a', 'LOGIN alice S3cret-pw'), /^a OK/m);
    await c.cmd('b', 'LOGOUT');
    const d = await RawImap.open(handle.port('imap'));
    const ir = Buffer.from('\0alice\0S3cret-pw').toString('base64');
    t.regex(await d.cmd('c', `AUTHENTICATE PLAIN ${ir}`), /^c OK/m);
    d.close();
    // Without an initial response: the secret travels on the continuation line.
    const e = await RawImap.open(handle.port('imap'));
    e.write('e AUTHENTICATE PLAIN\r\n');
    await e.until(/^\+/m);
    e.write(`${ir}\r\n`);
    t.regex(await e.until(/^e .*\r\n/m), /^e OK/m);
    t.regex(await e.cmd('f', 'SELECT INBOX'), /^f OK/m);
    e.close();
    await handle.events.settled();
    const text = JSON.stringify(events);
    t.false(text.includes('S3cret-pw'));
    t.false(text.includes(ir));
    const commands = events.filter((e) => e.type === 'command' && e.service === 'imap').map((e) => (e as { text: string }).text);
    t.true(commands.includes('a LOGIN alice <redacted>'), commands.join('\n'));
    t.true(commands.includes('c AUTHENTICATE PLAIN <redacted>'));
    t.true(commands.includes('f SELECT INBOX'));
    t.true(events.some((e) => e.type === 'reply' && e.service === 'imap' && (e as { text: string }).text.startsWith('f OK [READ-WRITE]')));
  } finally {
    await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.serial('mailbox edge cases: LIST "" "", unknown mailboxes, renaming or deleting the selected mailbox', async (t) => {
  const c = await client('carol');
  t.regex(await c.cmd('a', 'LIST "" ""'), /^\* LIST \(\\Noselect\) "\." ""\r\n/m);
  t.regex(await c.cmd('b', 'SELECT Nope'), /^b NO \[NONEXISTENT\]/m);
  t.regex(await c.cmd('c', 'STATUS Nope (MESSAGES)'), /^c NO \[NONEXISTENT\]/m);
  t.regex(await c.cmd('d', 'CREATE INBOX'), /^d NO \[ALREADYEXISTS\]/m);
  t.regex(await c.cmd('e', 'CREATE Projekt'), /^e OK/m);
  t.regex(await c.cmd('f', 'CREATE Projekt'), /^f NO \[ALREADYEXISTS\]/m);
  t.regex(await c.cmd('g', 'SELECT Projekt'), /^g OK \[READ-WRITE\]/m);
  // Renaming the selected mailbox ends the selection, not the session.
  t.regex(await c.cmd('h', 'RENAME Projekt Projekte'), /^h OK/m);
  t.regex(await c.cmd('i', 'FETCH 1 FLAGS'), /^i BAD .*select a mailbox first/m);
  t.regex(await c.cmd('j', 'SELECT Projekte'), /^j OK/m);
  t.regex(await c.cmd('k', 'DELETE Projekte'), /^k OK/m);
  t.regex(await c.cmd('l', 'NOOP'), /^l OK/m);
  t.regex(await c.cmd('m', 'CREATE "Entw&APw-rfe"'), /^m OK/m);
  t.regex(await c.cmd('n', 'LIST "" "Entw*"'), /^\* LIST \(\\HasNoChildren\) "\." Entw&APw-rfe\r\n/m);
  t.regex(await c.cmd('o', 'DELETE INBOX'), /^o NO/m);
  // Names that would leave the user's Maildir are refused.
  t.regex(await c.cmd('p', 'SELECT "../bob"'), /^p NO/m);
  t.regex(await c.cmd('q', 'CREATE "a/b"'), /^q NO \[CANNOT\]/m);
  t.regex(await c.cmd('r', 'CREATE ".hidden"'), /^r NO \[CANNOT\]/m);
  t.regex(await c.cmd('r2', 'CREATE "a*b"'), /^r2 NO \[CANNOT\] .*wildcard/m, 'LIST wildcards are refused in new names');
  t.regex(await c.cmd('r3', 'CREATE "%"'), /^r3 NO \[CANNOT\]/m);
  t.regex(await c.cmd('r4', 'RENAME "Entw&APw-rfe" "P%"'), /^r4 NO \[CANNOT\] .*wildcard/m);
  t.regex(await c.cmd('s', 'RENAME Sent "../x"'), /^s NO/m);
  c.close();
});

test('a client that pipelines CAPABILITY without reading is not answered into memory without bound', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-imap-flood-'));
  const handle = await startLabnet({
    defaults: false,
    only: ['imap'],
    dataDir,
    logLevel: 'silent',
    config: { listen: '127.0.0.1', users: [{ name: 'alice', password: 'pw' }], services: { imap: { port: 0, imapsPort: 0 } } },
  });
  try {
    const bytesOut = (): number => handle.status().find((s) => s.name === 'imap')!.bytesOut!;
    const client = await silentClient(handle.port('imap'));
    // 4 MB of commands asking for about 70 MB of replies.
    const result = await floodWithoutReading(client, Buffer.from('a CAPABILITY\r\n'.repeat(300_000)), bytesOut, 32 * 1024 * 1024);
    client.destroy();
    t.log(`server output stopped at ${result.bytesOut} octets`);
    t.false(result.unbounded, `the server wrote ${result.bytesOut} octets for a client that reads nothing`);
    t.true(result.bytesOut < 32 * 1024 * 1024);
  } finally {
    await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
