// swaks and Python's smtplib (the Debian python3) against the real labnet process: pipelining,
// BDAT, relay and unknown-user rejections, the smuggling probe, size and line limits, AUTH retry,
// abuse guards. Raw-socket checks where a client cannot produce the input.
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { LabProcess } from '../support/lab-process.js';
import { findMessage, maildirMessages, RawSmtp, startSmtpLab, stripTrace } from './helpers.js';

const PYTHON = '/usr/bin/python3';
let lab: LabProcess;

test.before(async () => {
  lab = await startSmtpLab();
});

test.after.always(async () => {
  await lab?.stop();
  lab?.cleanup();
});

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

function py(script: string, port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(PYTHON, ['-c', script], { PORT: String(port) });
}

const tag = (): string => randomBytes(6).toString('hex');

test('swaks with PIPELINING: the envelope goes in one batch and the message is delivered', async (t) => {
  const id = tag();
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(lab.port('smtp')),
    '--from',
    'p@outside.test',
    '--to',
    'alice@lab.test',
    '--pipeline',
    '--header',
    `Subject: pipelined ${id}`,
  ]);
  t.is(r.code, 0, r.stdout + r.stderr);
  // swaks prints the pipelined commands together, then the replies together.
  t.regex(r.stdout, / -> MAIL FROM:<p@outside\.test>\n -> RCPT TO:<alice@lab\.test>\n -> DATA\n<- {2}250 2\.1\.0 Ok\n<- {2}250 2\.1\.5 Ok\n<- {2}354 /);
  t.regex(r.stdout, /<- {2}250 2\.0\.0 Ok: queued as [0-9A-F]+/);
  t.truthy(findMessage(lab.dataDir, 'alice', `pipelined ${id}`));
});

test('swaks: an unknown local user gets 550 5.1.1 and a foreign domain 554 5.7.1 relay denied', async (t) => {
  const unknown = await run('swaks', ['--server', '127.0.0.1', '--port', String(lab.port('smtp')), '--from', 'a@outside.test', '--to', 'nobody@lab.test']);
  t.not(unknown.code, 0);
  t.regex(unknown.stdout, /<\*\* 550 5\.1\.1 <nobody@lab\.test>: Recipient address rejected: User unknown/);
  const relay = await run('swaks', ['--server', '127.0.0.1', '--port', String(lab.port('smtp')), '--from', 'a@outside.test', '--to', 'victim@elsewhere.test']);
  t.not(relay.code, 0);
  t.regex(relay.stdout, /<\*\* 554 5\.7\.1 <victim@elsewhere\.test>: Relay access denied/);
  t.false(
    maildirMessages(lab.dataDir, 'catchall').some((m) => m.includes('victim@elsewhere.test')),
    'nothing captured without AUTH',
  );
});

test('swaks: authenticated mail for a foreign domain is captured in the catch-all mailbox, never relayed', async (t) => {
  const id = tag();
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(lab.port('smtp', 'submission')),
    '--auth',
    'LOGIN',
    '--auth-user',
    'alice@lab.test',
    '--auth-password',
    'alice-lab',
    '--from',
    'alice@lab.test',
    '--to',
    'friend@elsewhere.test,bob@lab.test',
    '--header',
    `Subject: captured ${id}`,
  ]);
  t.is(r.code, 0, r.stdout);
  t.regex(r.stdout, /<~\* 334 VXNlcm5hbWU6|<- {2}334 VXNlcm5hbWU6/);
  t.regex(r.stdout, /235 2\.7\.0 Authentication successful/);
  const captured = findMessage(lab.dataDir, 'catchall', `captured ${id}`);
  t.truthy(captured);
  t.regex(captured!.toString(), /^Return-Path: <alice@lab\.test>\r\nReceived: [^]*?with ESMTPA id [^]*?X-Labnet-Captured-For: <friend@elsewhere\.test>\r\n/);
  const local = findMessage(lab.dataDir, 'bob', `captured ${id}`);
  t.truthy(local);
  t.false(local!.toString().includes('X-Labnet-Captured-For'));
});

test('smtplib: sendmail with several recipients, VRFY 252, HELP 214, NOOP, RSET', async (t) => {
  const id = tag();
  const r = await py(
    `
import os, smtplib
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=30)
print(s.ehlo()[0])
print(s.has_extn('pipelining'), s.has_extn('chunking'), s.has_extn('smtputf8'), s.has_extn('enhancedstatuscodes'), s.has_extn('8bitmime'), s.esmtp_features.get('size'))
print(s.verify('alice'))
print(s.docmd('HELP'))
print(s.noop(), s.rset())
refused = s.sendmail('py@outside.test', ['alice@lab.test', 'nobody@lab.test', 'carol@lab.test'], 'Subject: py ${id}\\r\\n\\r\\nfrom python\\r\\n')
print(refused)
s.quit()
`,
    lab.port('smtp'),
  );
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], '250');
  t.is(lines[1], `True True True True True ${25 * 1024 * 1024}`);
  t.regex(lines[2], /^\(252, b'2\.0\.0 Cannot VRFY user/);
  t.regex(lines[3], /^\(214, b'2\.0\.0 labnet SMTP/);
  t.is(lines[4], "(250, b'2.0.0 Ok') (250, b'2.0.0 Ok')");
  t.regex(lines[5], /^\{'nobody@lab\.test': \(550, b'5\.1\.1 <nobody@lab\.test>: Recipient address rejected/);
  for (const user of ['alice', 'carol']) t.is(stripTrace(findMessage(lab.dataDir, user, `py ${id}`)!).toString(), `Subject: py ${id}\r\n\r\nfrom python\r\n`);
});

test('smtplib: BDAT chunks (CHUNKING) make one message; bare LF inside is normalised like DATA', async (t) => {
  const id = tag();
  const r = await py(
    `
import os, smtplib
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=30)
s.ehlo()
print(s.docmd('MAIL FROM:<chunk@outside.test>')[0], s.docmd('RCPT TO:<bob@lab.test>')[0])
parts = [b'Subject: bdat ${id}\\r\\n\\r\\nline one\\r\\n.\\r\\n', b'line two\\nline', b' three\\r', b'\\n']
for i, p in enumerate(parts):
    last = ' LAST' if i == len(parts) - 1 else ''
    s.send(b'BDAT %d%s\\r\\n' % (len(p), last.encode()) + p)
    print(s.getreply())
s.send(b'BDAT 3 LAST\\r\\nabc')
print(s.getreply())
print(s.noop())
s.quit()
`,
    lab.port('smtp'),
  );
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], '250 250');
  t.regex(lines[1], /^\(250, b'2\.0\.0 \d+ octets received'\)/);
  t.regex(lines[4], /^\(250, b'2\.0\.0 Ok: queued as/);
  // BDAT with no transaction: 503, and its 3 octets are consumed rather than run as a command.
  t.regex(lines[5], /^\(503, b'5\.5\.1 Error: need MAIL command'\)/);
  t.is(lines[6], "(250, b'2.0.0 Ok')");
  const stored = findMessage(lab.dataDir, 'bob', `bdat ${id}`);
  t.is(stripTrace(stored!).toString(), `Subject: bdat ${id}\r\n\r\nline one\r\n.\r\nline two\r\nline three\r\n`);
});

test('SMTP smuggling probe: bare-LF and bare-CR dot lines never end DATA (one message, one reply)', async (t) => {
  const probes = ['\n.\n', '\n.\r\n', '\r.\r\n', '\r\n.\n', '\r\n.\r'];
  for (const probe of probes) {
    const id = tag();
    const r = await py(
      `
import os, smtplib
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=30)
s.ehlo()
s.docmd('MAIL FROM:<attacker@outside.test>')
s.docmd('RCPT TO:<alice@lab.test>')
print(s.docmd('DATA')[0])
payload = b'Subject: smuggle ${id}\\r\\n\\r\\nhello' + ${JSON.stringify(probe)}.encode() + b'MAIL FROM:<admin@lab.test>\\r\\nRCPT TO:<carol@lab.test>\\r\\nDATA\\r\\nSubject: smuggled ${id}\\r\\n\\r\\nevil\\r\\n.\\r\\n'
s.send(payload)
print(s.getreply())
print(s.noop())
s.quit()
`,
      lab.port('smtp'),
    );
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.is(lines[0], '354');
    t.regex(lines[1], /^\(250, b'2\.0\.0 Ok: queued as/, JSON.stringify(probe));
    t.is(lines[2], "(250, b'2.0.0 Ok')", JSON.stringify(probe));
    const stored = findMessage(lab.dataDir, 'alice', `smuggle ${id}`);
    t.truthy(stored, JSON.stringify(probe));
    t.true(stored!.includes('MAIL FROM:<admin@lab.test>'), 'the smuggled commands are content');
    t.is(findMessage(lab.dataDir, 'carol', `smuggled ${id}`), undefined, 'no second message');
    t.false(/[^\r]\n|\r[^\n]/.test(stored!.toString('latin1')), 'stored with CRLF only');
  }
});

test('swaks: the smuggling probe sent without data fixup is stored as one message', async (t) => {
  const id = tag();
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(lab.port('smtp')),
    '--from',
    'x@outside.test',
    '--to',
    'carol@lab.test',
    '--no-data-fixup',
    '--data',
    `Subject: swaks smuggle ${id}\r\n\r\nbody\n.\nRSET\r\n.\r\n`,
  ]);
  t.is(r.code, 0, r.stdout);
  const stored = findMessage(lab.dataDir, 'carol', `swaks smuggle ${id}`);
  t.truthy(stored);
  t.true(stripTrace(stored!).toString().startsWith(`Subject: swaks smuggle ${id}\r\n\r\nbody\r\n.\r\nRSET\r\n`));
});

test('an oversized message gets 552 5.3.4 (declared SIZE and actual data) and the session goes on', async (t) => {
  const small = await startSmtpLab({ maxMessageSize: 10_000 });
  try {
    const id = tag();
    const r = await py(
      `
import os, smtplib
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=30)
s.ehlo()
print(s.esmtp_features.get('size'))
print(s.docmd('MAIL FROM:<big@outside.test> SIZE=20000'))
print(s.docmd('MAIL FROM:<big@outside.test>')[0], s.docmd('RCPT TO:<alice@lab.test>')[0], s.docmd('DATA')[0])
s.send(b'Subject: too big\\r\\n\\r\\n' + b'x' * 70 + b'\\r\\n' + (b'y' * 70 + b'\\r\\n') * 300 + b'.\\r\\n')
print(s.getreply())
print(s.noop())
print(s.sendmail('ok@outside.test', ['alice@lab.test'], 'Subject: small ${id}\\r\\n\\r\\nfits\\r\\n'))
s.quit()
`,
      small.port('smtp'),
    );
    t.is(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.is(lines[0], '10000');
    t.regex(lines[1], /^\(552, b'5\.3\.4 Message size exceeds fixed maximum message size \(10000\)'\)/);
    t.is(lines[2], '250 250 354');
    t.regex(lines[3], /^\(552, b'5\.3\.4 Error: message exceeds fixed maximum message size/);
    t.is(lines[4], "(250, b'2.0.0 Ok')");
    t.is(lines[5], '{}');
    const all = maildirMessages(small.dataDir, 'alice');
    t.is(all.length, 1);
    t.true(all[0].includes(`small ${id}`));
  } finally {
    await small.stop();
    small.cleanup();
  }
});

test('a command line over 512 octets gets 500 5.5.2 and the session goes on; 101st recipient gets 452 4.5.3', async (t) => {
  const c = await RawSmtp.open(lab.port('smtp'));
  t.regex((await c.reply())!, /^220 labnet\.lab\.test ESMTP/);
  t.regex((await c.cmd('EHLO client.test'))!, /^250-labnet\.lab\.test/);
  t.is(await c.cmd(`NOOP ${'x'.repeat(505)}`), '250 2.0.0 Ok'); // 510 octets + CRLF: allowed
  t.is(await c.cmd(`NOOP ${'x'.repeat(506)}`), '500 5.5.2 Line too long');
  t.is(await c.cmd(`NOOP ${'x'.repeat(20_000)}`), '500 5.5.2 Line too long');
  t.is(await c.cmd('MAIL FROM:<many@outside.test>'), '250 2.1.0 Ok');
  for (let i = 0; i < 100; i++) t.is(await c.cmd(`RCPT TO:<Alice+${i}@lab.test>`), '250 2.1.5 Ok');
  t.is(await c.cmd('RCPT TO:<alice@lab.test>'), '452 4.5.3 Error: too many recipients');
  t.is(await c.cmd('DATA'), '354 End data with <CR><LF>.<CR><LF>');
  const id = tag();
  c.write(`Subject: hundred ${id}\r\n\r\nx\r\n.\r\n`);
  t.regex((await c.reply())!, /^250 2\.0\.0 Ok: queued as/);
  t.is(maildirMessages(lab.dataDir, 'alice').filter((m) => m.includes(`hundred ${id}`)).length, 1, 'one copy per mailbox');
  t.is(await c.cmd('QUIT'), '221 2.0.0 Bye');
  t.true(await c.closedByServer());
});

test('sequence and syntax errors carry enhanced codes; too many bad commands end with 421', async (t) => {
  const c = await RawSmtp.open(lab.port('smtp'));
  await c.reply();
  t.is(await c.cmd('MAIL FROM:<a@b.test>'), '503 5.5.1 Error: send HELO/EHLO first');
  t.is(await c.cmd('HELO client.test'), '250 labnet.lab.test');
  t.is(await c.cmd('AUTH PLAIN AGFsaWNlAGFsaWNlLWxhYg=='), '503 5.5.1 Error: send EHLO first');
  t.is(await c.cmd('RCPT TO:<alice@lab.test>'), '503 5.5.1 Error: need MAIL command');
  t.is(await c.cmd('MAIL FROM:alice@lab.test'), '501 5.1.7 Path must be enclosed in angle brackets <...>');
  t.is(await c.cmd('MAIL FROM:<a b@c>'), '501 5.1.7 Bad sender address syntax');
  t.is(await c.cmd('MAIL FROM:<>'), '250 2.1.0 Ok');
  t.is(await c.cmd('MAIL FROM:<>'), '503 5.5.1 Error: nested MAIL command');
  t.is(await c.cmd('DATA'), '503 5.5.1 Error: need RCPT command');
  t.is(await c.cmd('RCPT TO:<Postmaster>'), '250 2.1.5 Ok');
  t.is(await c.cmd('RCPT TO:<bob@lab.test> NOTIFY=NEVER'), '555 5.5.4 Unsupported parameter NOTIFY');
  t.is(await c.cmd('RCPT TO:<bøb@lab.test>'), '553 5.6.7 Non-ASCII recipient address needs SMTPUTF8 in MAIL FROM');
  t.is(await c.cmd('RSET'), '250 2.0.0 Ok');
  let reply: string | null = '';
  let n = 0;
  while (n < 40) {
    reply = await c.cmd('FROBNICATE');
    n++;
    if (!reply?.startsWith('500 5.5.2')) break;
  }
  t.is(reply, '421 4.7.0 labnet.lab.test Error: too many errors');
  t.true(n < 30);
  t.true(await c.closedByServer());
});

test('submission: MAIL before AUTH gets 530 5.7.0; a failed AUTH is 535 5.7.8 and may be retried', async (t) => {
  const r = await py(
    `
import os, smtplib
s = smtplib.SMTP('127.0.0.1', int(os.environ['PORT']), timeout=30)
s.ehlo()
print(s.docmd('MAIL FROM:<alice@lab.test>'))
try:
    s.login('alice', 'wrong')
except smtplib.SMTPAuthenticationError as e:
    print(e.smtp_code, e.smtp_error)
s.login('alice@LAB.test', 'alice-lab')
print(s.docmd('AUTH PLAIN'))
print(s.sendmail('alice@lab.test', ['bob@lab.test'], 'Subject: after retry\\r\\n\\r\\nok\\r\\n'))
s.quit()
`,
    lab.port('smtp', 'submission'),
  );
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], "(530, b'5.7.0 Authentication required')");
  t.is(lines[1], "535 b'5.7.8 Error: authentication failed'");
  t.is(lines[2], "(503, b'5.5.1 Error: already authenticated')");
  t.is(lines[3], '{}');
});

test('AUTH PLAIN without initial response, LOGIN cancel with "*", bad base64', async (t) => {
  const c = await RawSmtp.open(lab.port('smtp', 'submission'));
  await c.reply();
  await c.cmd('EHLO me');
  t.is(await c.cmd('AUTH PLAIN'), '334 ');
  t.is(await c.cmd('!!!notbase64'), '501 5.5.2 Cannot decode the base64 response');
  t.is(await c.cmd('AUTH LOGIN'), '334 VXNlcm5hbWU6');
  t.is(await c.cmd('*'), '501 5.7.0 Authentication aborted');
  t.is(await c.cmd('AUTH CRAM-MD5'), '504 5.5.4 Unrecognized authentication type CRAM-MD5');
  t.is(await c.cmd('AUTH PLAIN'), '334 ');
  t.is(await c.cmd(Buffer.from('\u0000carol\u0000carol-lab').toString('base64')), '235 2.7.0 Authentication successful');
  c.end();
});

test('an HTTP request or a TLS ClientHello on the SMTP port gets a clear error and the connection closes', async (t) => {
  const h = await RawSmtp.open(lab.port('smtp'));
  await h.reply();
  h.write('GET / HTTP/1.1\r\nHost: labnet\r\n\r\n');
  t.is(await h.reply(), '554 5.7.0 labnet.lab.test This is an SMTP server, not a web server: HTTP requests are not served on this port');
  t.true(await h.closedByServer());

  const tl = await RawSmtp.open(lab.port('smtp'));
  await tl.reply();
  // The start of a TLS 1.2 ClientHello record; no line feed in it, so no line ever completes.
  tl.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]), Buffer.alloc(64, 0x41)]));
  t.regex((await tl.reply())!, /^421 4\.7\.0 labnet\.lab\.test TLS handshake received on a plain SMTP port/);
  t.true(await tl.closedByServer());
});

test('RFC 5321 timeouts are configurable: an idle session gets 421 4.4.2, a stalled DATA too', async (t) => {
  const quick = await startSmtpLab({ commandTimeoutMs: 2000, dataTimeoutMs: 2000 });
  try {
    const c = await RawSmtp.open(quick.port('smtp'));
    await c.reply();
    t.is(await c.reply(), '421 4.4.2 labnet.lab.test Error: timeout exceeded');
    t.true(await c.closedByServer());
    const d = await RawSmtp.open(quick.port('smtp'));
    await d.reply();
    await d.cmd('HELO x');
    await d.cmd('MAIL FROM:<>');
    await d.cmd('RCPT TO:<alice@lab.test>');
    t.is(await d.cmd('DATA'), '354 End data with <CR><LF>.<CR><LF>');
    d.write('Subject: stalled\r\n\r\nhalf a mess');
    t.is(await d.reply(), '421 4.4.2 labnet.lab.test Error: timeout exceeded');
    t.true(await d.closedByServer());
    t.deepEqual(maildirMessages(quick.dataDir, 'alice'), []);
  } finally {
    await quick.stop();
    quick.cleanup();
  }
});
