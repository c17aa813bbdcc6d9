// The in-process test-suite API with real clients: nodemailer sends (STARTTLS and submission, trusting
// lab.caPem through lab.clients), lab.mail reads back parsed, waits without a race, purges (imapflow
// sees the expunge), lab.users changes logins for SMTP AUTH, IMAP (imapflow) and POP3 (Python poplib)
// at once.
import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { LabnetError } from '../../core/errors.js';
import { WaitForTimeoutError } from '../../core/mail-api/mail-api.js';
import { startTestLab, type TestLab } from './fixture.js';

let t0: TestLab;

test.before(async () => {
  t0 = await startTestLab();
});

test.after.always(async () => {
  await t0?.stop();
});

const tag = (): string => randomBytes(6).toString('hex');

function smtp(user?: string, password?: string) {
  return nodemailer.createTransport(t0.lab.clients.nodemailer(user === undefined ? {} : { user, password }));
}

/** Python's poplib (a real POP3 client): logs in, answers with the message count or the error. */
function poplib(port: number, user: string, password: string): Promise<string> {
  const script = `
import json, poplib, sys
a = json.loads(sys.stdin.read())
try:
    p = poplib.POP3('127.0.0.1', a['port'], timeout=10)
    p.user(a['user']); p.pass_(a['password'])
    count = p.stat()[0]
    bodies = [b'\\r\\n'.join(p.retr(i + 1)[1]).decode('utf-8', 'replace') for i in range(count)]
    p.quit()
    print(json.dumps({'ok': True, 'count': count, 'bodies': bodies}))
except poplib.error_proto as e:
    print(json.dumps({'ok': False, 'error': str(e)}))
`;
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`python3 exited ${code}: ${out}`))));
    p.stdin.end(JSON.stringify({ port, user, password }));
  });
}

async function imapLogin(user: string, password: string): Promise<{ ok: boolean; error?: string }> {
  const client = new ImapFlow(t0.lab.clients.imapflow({ user, password }));
  try {
    await client.connect();
    await client.logout();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

test.serial('messages() gives every part parsed: addresses, subject, date, Message-ID, text, HTML, attachments, headers, raw', async (t) => {
  const id = tag();
  const png = randomBytes(3000);
  const sent = await smtp().sendMail({
    from: '"Zoë Teacher" <teacher@school.example>',
    to: ['alice@lab.test', '"Bob B." <bob@lab.test>'],
    cc: 'carol@elsewhere.example',
    subject: `Résumé ✓ ${id}`,
    text: `plain body ${id}\n`,
    html: `<p>html body <b>${id}</b></p>`,
    headers: { 'X-Test-Case': id },
    attachments: [
      { filename: 'report ü.pdf', content: Buffer.from(`%PDF ${id}`), contentType: 'application/pdf' },
      { filename: 'pixel.png', content: png, contentType: 'image/png' },
    ],
  });
  const [m] = await t0.lab.mail.waitFor({ to: 'alice@lab.test', subject: id, timeoutMs: 10_000 });
  t.is(m.user, 'alice');
  t.is(m.folder, 'INBOX');
  t.is(m.id, `alice/INBOX/${m.uid}`);
  t.deepEqual(m.from.value, [{ name: 'Zoë Teacher', address: 'teacher@school.example' }]);
  t.deepEqual(
    m.to.value.map((a) => a.address),
    ['alice@lab.test', 'bob@lab.test'],
  );
  t.is(m.to.value[1].name, 'Bob B.');
  t.deepEqual(m.cc.value, [{ name: '', address: 'carol@elsewhere.example' }]);
  t.is(m.subject, `Résumé ✓ ${id}`);
  t.is(m.messageId, sent.messageId);
  t.true(m.date instanceof Date && Math.abs(m.date.getTime() - Date.now()) < 120_000);
  t.is(m.text.trim(), `plain body ${id}`);
  t.is(m.html, `<p>html body <b>${id}</b></p>`);
  t.is(m.attachments.length, 2);
  t.like(m.attachments[0], { filename: 'report ü.pdf', contentType: 'application/pdf', size: `%PDF ${id}`.length, disposition: 'attachment' });
  t.is(m.attachments[0].content.toString(), `%PDF ${id}`);
  t.like(m.attachments[1], { filename: 'pixel.png', contentType: 'image/png', size: png.length });
  t.true(m.attachments[1].content.equals(png));
  t.is(m.headers.find((h) => h.name === 'X-Test-Case')?.value, id);
  t.is(m.headers[0].name, 'Return-Path', 'the trace fields labnet added come first');
  t.true(m.headers.some((h) => h.name === 'Received' && h.value.includes('(labnet)')));
  t.true(Buffer.isBuffer(m.raw));
  t.is(m.raw.length, m.size);
  t.true(m.raw.toString('latin1').startsWith('Return-Path: <teacher@school.example>\r\n'));
  t.true(m.receivedAt instanceof Date);
  t.deepEqual(m.flags, []);
  // bob got his own copy; the copy in his mailbox is the same message.
  const [b] = await t0.lab.mail.messages({ user: 'bob', subject: id });
  t.is(b.messageId, sent.messageId);
  t.true(b.raw.equals(m.raw));
  t.deepEqual(await t0.lab.mail.message(m.id), m);
});

test.serial('waitFor counts the messages delivered before the call, then waits for the rest', async (t) => {
  const id = tag();
  const tr = smtp();
  await tr.sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: `${id} one`, text: '1' });
  await tr.sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: `${id} two`, text: '2' });
  const two = await t0.lab.mail.waitFor({ to: 'alice', subject: id, count: 2, timeoutMs: 5000 });
  t.deepEqual(
    two.map((m) => m.subject),
    [`${id} one`, `${id} two`],
  );
  let settled = false;
  const three = t0.lab.mail.waitFor({ to: 'alice', subject: id, count: 3, timeoutMs: 10_000 }).finally(() => (settled = true));
  await t0.lab.events.settled();
  t.false(settled, 'waitFor for three resolved with two');
  await tr.sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: `${id} three`, text: '3' });
  t.deepEqual(
    (await three).map((m) => m.subject),
    [`${id} one`, `${id} two`, `${id} three`],
  );
});

test.serial('waitFor never misses a delivery racing with the call (sends and waits interleaved, both orders)', async (t) => {
  const tr = smtp();
  for (let i = 0; i < 15; i++) {
    const id = tag();
    const send = tr.sendMail({ from: 'x@school.example', to: 'bob@lab.test', subject: `race ${id}`, text: String(i) });
    // Odd rounds call waitFor while the message is in flight, even rounds right after the 250.
    if (i % 2 === 0) await send;
    const got = await t0.lab.mail.waitFor({ to: 'bob@lab.test', subject: id, timeoutMs: 10_000 });
    await send;
    t.is(got.length, 1);
    t.is(got[0].subject, `race ${id}`);
  }
});

test.serial('waitFor sees every one of many concurrent deliveries (a pool of 5 connections, 300 messages)', async (t) => {
  const id = tag();
  const pooled = nodemailer.createTransport({ ...t0.lab.clients.nodemailer(), pool: true, maxConnections: 5, maxMessages: Infinity });
  const waiting = t0.lab.mail.waitFor({ to: 'bob', subject: id, count: 300, timeoutMs: 60_000 });
  await Promise.all(
    Array.from({ length: 300 }, (_, i) => pooled.sendMail({ from: 'x@school.example', to: 'bob@lab.test', subject: `${id} #${i}`, text: String(i) })),
  );
  pooled.close();
  const got = await waiting;
  t.is(got.length, 300);
  t.is(new Set(got.map((m) => m.subject)).size, 300);
  // The waiter parses the octets that came with each delivery notice, not the file read back: they
  // must be the stored message exactly, and parse to what was sent.
  const maildir = join(t0.dataDir, 'mail', 'bob');
  const stored = new Set(['new', 'cur'].flatMap((d) => readdirSync(join(maildir, d)).map((f) => readFileSync(join(maildir, d, f)).toString('latin1'))));
  for (const m of got) {
    t.true(stored.has(m.raw.toString('latin1')), `raw of "${m.subject}" is not the stored file`);
    t.is(m.text.trim(), /#(\d+)$/.exec(m.subject)?.[1] ?? 'no number in the subject');
  }
});

test.serial('waitFor rejects on timeout with what did arrive and what else came', async (t) => {
  const id = tag();
  const tr = smtp();
  await tr.sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: `${id} wanted`, text: 'w' });
  await tr.sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: `other ${tag()}`, text: 'o' });
  const err = await t.throwsAsync(t0.lab.mail.waitFor({ to: 'alice@lab.test', subject: `${id} wanted`, count: 2, timeoutMs: 300 }));
  t.true(err instanceof WaitForTimeoutError);
  const e = err as WaitForTimeoutError;
  t.is(e.code, 'WAIT_TIMEOUT');
  t.deepEqual(
    e.arrived.map((m) => m.subject),
    [`${id} wanted`],
  );
  t.true(e.others.some((o) => o.subject.startsWith('other ')));
  t.regex(e.message, /1 of 2 messages matching \{ to: "alice@lab\.test", subject: ".* wanted" \} within 300 ms/);
});

test.serial('queries: From, a RegExp subject, body text, folders, since; a recipient outside the lab is found in the catch-all', async (t) => {
  const id = tag();
  const before = Date.now() - 1000;
  const sub = smtp('alice', 'alice-pw');
  await sub.sendMail({ from: 'alice@lab.test', to: ['friend@outside.example', 'bob@lab.test'], subject: `Weekly ${id}`, text: `the secret word is ${id}` });
  const [captured] = await t0.lab.mail.waitFor({ to: 'friend@outside.example', subject: id });
  t.is(captured.user, 'catchall');
  t.true(captured.headers.some((h) => h.name === 'X-Labnet-Captured-For' && h.value.includes('friend@outside.example')));
  t.is(
    (await t0.lab.mail.messages({ user: 'bob', from: 'ALICE@lab.test', subject: /^weekly [0-9a-f]+$/i, since: before })).filter((m) => m.subject.includes(id))
      .length,
    1,
  );
  t.is((await t0.lab.mail.messages({ user: 'bob', text: `secret word is ${id}` })).length, 1);
  t.is((await t0.lab.mail.messages({ user: 'bob', text: `not there ${id}` })).length, 0);
  t.is((await t0.lab.mail.messages({ user: 'bob', subject: id, since: Date.now() + 60_000 })).length, 0);
  t.is((await t0.lab.mail.messages({ user: 'bob', folder: 'Sent', subject: id })).length, 0, 'no Sent folder: nothing, no error');
  t.is((await t0.lab.mail.messages({ user: 'bob', folder: '*', subject: id })).length, 1);
  t.is((await t0.lab.mail.messages({ to: 'nobody@outside.example', subject: id })).length, 0);
});

test.serial('bad queries are refused with a code; looking up an unknown message never creates a mailbox', async (t) => {
  const mail = t0.lab.mail;
  for (const p of [
    mail.waitFor({ count: 0 }),
    mail.waitFor({ timeoutMs: -1 }),
    mail.messages({ user: 'alice@other.example' }),
    mail.messages({ subject: 'x'.repeat(5000) }),
    mail.messages({ user: '../etc' }),
  ]) {
    const err = await t.throwsAsync(p);
    t.is((err as LabnetError).code, 'INVALID_QUERY', err?.message);
  }
  for (const id of ['nosuchuser/INBOX/1', 'alice/INBOX/999999', '../../etc/passwd', 'alice/INBOX/0', 'alice/../1', '']) {
    const err = await t.throwsAsync(mail.message(id));
    t.is((err as LabnetError).code, 'NO_SUCH_MESSAGE', id);
  }
  t.false((await mail.messages({ user: 'nosuchuser' })).length > 0);
  t.false(await mail.delete('nosuchuser/INBOX/1'));
  const { existsSync } = await import('node:fs');
  t.false(existsSync(`${t0.dataDir}/mail/nosuchuser`));
});

test.serial('purge(user) and purge() empty the mailboxes and an IMAP client sees the messages expunged; delete(id) removes one', async (t) => {
  const tr = smtp();
  const id = tag();
  for (const to of ['alice@lab.test', 'alice@lab.test', 'bob@lab.test']) await tr.sendMail({ from: 'x@school.example', to, subject: `purge ${id}`, text: 'p' });
  await t0.lab.mail.waitFor({ subject: id, count: 3 });
  const client = new ImapFlow(t0.lab.clients.imapflow({ user: 'alice', password: 'alice-pw' }));
  await client.connect();
  const lock = await client.getMailboxLock('INBOX');
  try {
    const before = (client.mailbox as { exists: number }).exists;
    t.true(before >= 2);
    const expunged: number[] = [];
    client.on('expunge', (e: { seq: number }) => expunged.push(e.seq));
    const removed = await t0.lab.mail.purge('alice@lab.test');
    t.is(removed, before);
    await client.noop();
    t.is((client.mailbox as { exists: number }).exists, 0);
    t.is(expunged.length, before);
  } finally {
    lock.release();
    await client.logout();
  }
  t.deepEqual(await t0.lab.mail.messages({ user: 'alice' }), []);
  const [bobs] = await t0.lab.mail.messages({ user: 'bob', subject: id });
  t.true(await t0.lab.mail.delete(bobs.id));
  t.false(await t0.lab.mail.delete(bobs.id));
  await tr.sendMail({ from: 'x@school.example', to: 'bob@lab.test', subject: `purge all ${id}`, text: 'p' });
  await t0.lab.mail.waitFor({ subject: `purge all ${id}` });
  t.true((await t0.lab.mail.purge()) >= 1);
  t.deepEqual(await t0.lab.mail.messages({ folder: '*' }), []);
});

test.serial('users.add, setPassword and remove take effect at once for SMTP AUTH, IMAP and POP3 logins', async (t) => {
  const { lab } = t0;
  t.like(lab.users.add('dave@lab.test', 'first-pw'), { name: 'dave', address: 'dave@lab.test' });
  t.true(lab.users.list().some((u) => u.name === 'dave'));
  t.is(t.throws<LabnetError>(() => lab.users.add('dave', 'again'))?.code, 'USER_EXISTS');
  t.is(t.throws<LabnetError>(() => lab.users.add('bad name', 'pw'))?.code, 'USER_INVALID');
  t.is(t.throws<LabnetError>(() => lab.users.add('eve@other.example', 'pw'))?.code, 'USER_INVALID');
  t.is(t.throws<LabnetError>(() => lab.users.setPassword('nobody', 'pw'))?.code, 'NO_SUCH_USER');

  const id = tag();
  await smtp('dave', 'first-pw').sendMail({ from: 'dave@lab.test', to: 'dave@lab.test', subject: `self ${id}`, text: 'hi me' });
  await lab.mail.waitFor({ to: 'dave', subject: id });
  t.true((await imapLogin('dave', 'first-pw')).ok);
  t.like(JSON.parse(await poplib(lab.ports.pop3, 'dave', 'first-pw')), { ok: true, count: 1 });

  lab.users.setPassword('dave', 'second-pw');
  t.false((await imapLogin('dave', 'first-pw')).ok);
  t.true((await imapLogin('dave', 'second-pw')).ok);
  t.like(JSON.parse(await poplib(lab.ports.pop3, 'dave', 'first-pw')), { ok: false });
  await t.throwsAsync(smtp('dave', 'first-pw').verify());
  await t.notThrowsAsync(smtp('dave', 'second-pw').verify());

  t.true(lab.users.remove('dave'));
  t.false(lab.users.remove('dave'));
  t.false((await imapLogin('dave', 'second-pw')).ok);
  t.like(JSON.parse(await poplib(lab.ports.pop3, 'dave', 'second-pw')), { ok: false });
  // Mail for a removed account is refused again (it is no account and auto-create is off).
  const err = await t.throwsAsync(smtp().sendMail({ from: 'x@school.example', to: 'dave@lab.test', subject: 'gone', text: 'x' }));
  t.regex(err.message, /550/);
});

test.serial("nodemailer's defaults fail on the STARTTLS offer; lab.clients.nodemailer() trusts lab.caPem", async (t) => {
  const { lab } = t0;
  t.true(lab.caPem.startsWith('-----BEGIN CERTIFICATE-----'));
  const plain = nodemailer.createTransport({ host: lab.host, port: lab.ports.smtp });
  const err = await t.throwsAsync(plain.sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: 'defaults', text: 'x' }));
  t.regex(err.message, /unable to verify the first certificate/);
  const options = lab.clients.nodemailer();
  t.like(options, { host: '127.0.0.1', port: lab.ports.smtp, secure: false });
  t.is(options.tls.ca, lab.caPem);
  await t.notThrowsAsync(nodemailer.createTransport(options).sendMail({ from: 'x@school.example', to: 'alice@lab.test', subject: 'trusted', text: 'x' }));
  const smtps = lab.clients.nodemailer({ user: 'bob', password: 'bob-pw', listener: 'smtps' });
  t.like(smtps, { port: lab.ports.smtps, secure: true, auth: { user: 'bob', pass: 'bob-pw' } });
  await t.notThrowsAsync(nodemailer.createTransport(smtps).verify());
  t.like(lab.clients.imapflow({ user: 'bob', password: 'bob-pw' }), { port: lab.ports.imaps, secure: true });
  t.like(lab.clients.imapflow({ user: 'bob', password: 'bob-pw', secure: false }), { port: lab.ports.imap, secure: false });
  t.true((await imapLogin('bob', 'bob-pw')).ok);
});

test('test mode: any login with any password, mailboxes made on first use (also for auto-created recipients), a loud log line', async (t) => {
  const tm = await startTestLab({ testMode: true });
  try {
    const warning = tm.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('TEST MODE'));
    t.truthy(warning, 'a warning says test mode is on');
    t.is(warning!.level, 40);
    // A recipient nobody configured: accepted, and its mailbox can log in (POP3 and IMAP) with any password.
    const id = tag();
    await nodemailer
      .createTransport(tm.lab.clients.nodemailer())
      .sendMail({ from: 'x@school.example', to: 'newcomer@lab.test', subject: `welcome ${id}`, text: 'hello' });
    const [m] = await tm.lab.mail.waitFor({ to: 'newcomer@lab.test', subject: id });
    t.is(m.user, 'newcomer');
    const pop = JSON.parse(await poplib(tm.lab.ports.pop3, 'newcomer', 'anything')) as { ok: boolean; count: number; bodies: string[] };
    t.true(pop.ok);
    t.is(pop.count, 1);
    t.true(pop.bodies[0].includes(`welcome ${id}`));
    const client = new ImapFlow(tm.lab.clients.imapflow({ user: 'stranger@lab.test', password: 'whatever' }));
    await client.connect();
    const list = await client.list();
    t.true(
      list.some((f) => f.path === 'INBOX'),
      'the mailbox was created at login',
    );
    await client.logout();
    // SMTP AUTH too, and configured users with a wrong password.
    await t.notThrowsAsync(nodemailer.createTransport(tm.lab.clients.nodemailer({ user: 'alice', password: 'not-her-password' })).verify());
  } finally {
    await tm.stop();
  }
  // Off by default: t0 refuses a wrong password and an unknown recipient.
  t.false((await imapLogin('alice', 'not-her-password')).ok);
  t.false(t0.logs.some((l) => l.includes('TEST MODE')));
  const err = await t.throwsAsync(smtp().sendMail({ from: 'x@school.example', to: 'newcomer@lab.test', subject: 'x', text: 'x' }));
  t.regex(err.message, /550/);
});
