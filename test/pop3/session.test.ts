// POP3 dialogue transcripts against the service on port 0 (in-process lab, real mail store).
import { createHash } from 'node:crypto';
import test from 'ava';
import type { ProtocolEvent } from '../../core/events.js';
import { floodWithoutReading } from '../core/line-flood.js';
import { pop3Connect, type Pop3Wire } from '../support/pop3-wire.js';
import { message, startPop3Lab, type Pop3Lab } from './helpers.js';

const plain = (authz: string, user: string, pass: string) => Buffer.from(`${authz}\0${user}\0${pass}`).toString('base64');

async function login(lab: Pop3Lab, user = 'alice', pass = `${user}-lab`): Promise<Pop3Wire> {
  const c = await pop3Connect(lab.port);
  await c.line();
  await c.cmd(`USER ${user}`);
  const r = await c.cmd(`PASS ${pass}`);
  if (!r.startsWith('+OK')) throw new Error(`login failed: ${r}`);
  return c;
}

test('greeting carries an APOP timestamp; CAPA lists the capabilities', async (t) => {
  const lab = await startPop3Lab();
  try {
    const c = await pop3Connect(lab.port);
    const greeting = await c.line();
    t.regex(greeting, /^\+OK .*<\d+\.\d+\.\d+@labnet\.lab\.test>$/);
    const capa = await c.multi('CAPA');
    t.regex(capa.status, /^\+OK/);
    const caps = capa.data.toString().split('\r\n').filter(Boolean);
    for (const cap of ['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION labnet']) {
      t.true(caps.includes(cap), cap);
    }
    t.regex(await c.cmd('QUIT'), /^\+OK/);
    await c.closed;
  } finally {
    await lab.stop();
  }
});

test('errors get -ERR with a reason and the session goes on', async (t) => {
  const lab = await startPop3Lab();
  try {
    const c = await pop3Connect(lab.port);
    await c.line();
    t.regex(await c.cmd('HELO there'), /^-ERR unknown command "HELO"/);
    t.regex(await c.cmd('STAT'), /^-ERR STAT is not allowed in the AUTHORIZATION state/);
    t.regex(await c.cmd('RETR 1'), /^-ERR RETR is not allowed/);
    t.regex(await c.cmd('USER'), /^-ERR usage: USER name/);
    t.regex(await c.cmd(`USER ${'x'.repeat(2000)}`), /^-ERR command line too long/);
    c.socket.write('NOOP\0\r\n');
    t.regex(await c.line(), /^-ERR control character/);
    t.regex(await c.cmd(''), /^-ERR empty command/);
    t.regex(await c.cmd('PASS secret'), /^-ERR send USER first/);
    t.regex(await c.multi('CAPA').then((r) => r.status), /^\+OK/);
    t.false(c.isClosed());
    c.close();
  } finally {
    await lab.stop();
  }
});

test('pipelined replies are not held back by an over-long or unfinished line that follows', async (t) => {
  const lab = await startPop3Lab();
  try {
    const c = await pop3Connect(lab.port);
    await c.line();
    c.socket.write(`NOOP\r\n${'X'.repeat(3000)}\r\nCAPA\r\nNOO`);
    t.regex(await c.line(), /^-ERR NOOP is not allowed/);
    t.regex(await c.line(), /^-ERR command line too long/);
    t.regex(await c.line(), /^\+OK capability list follows/);
    t.true((await c.multiline()).toString().includes('UIDL'));
    c.socket.write('P\r\n');
    t.regex(await c.line(), /^-ERR NOOP is not allowed/);
    c.close();
  } finally {
    await lab.stop();
  }
});

test('too many errors end the session', async (t) => {
  const lab = await startPop3Lab({ maxErrors: 3 });
  try {
    const c = await pop3Connect(lab.port);
    await c.line();
    t.regex(await c.cmd('BAD1'), /^-ERR/);
    t.regex(await c.cmd('BAD2'), /^-ERR/);
    t.regex(await c.cmd('BAD3'), /^-ERR .*too many errors/);
    await c.closed;
    t.true(c.isClosed());
  } finally {
    await lab.stop();
  }
});

test('wrong password gets -ERR [AUTH], then the right one logs in', async (t) => {
  const lab = await startPop3Lab();
  try {
    const c = await pop3Connect(lab.port);
    await c.line();
    t.regex(await c.cmd('USER alice'), /^\+OK/);
    t.is(await c.cmd('PASS nope'), '-ERR [AUTH] invalid user name or password');
    t.regex(await c.cmd('USER nobody'), /^\+OK/);
    t.regex(await c.cmd('PASS alice-lab'), /^-ERR \[AUTH\]/);
    t.regex(await c.cmd('USER ALICE@lab.test'), /^\+OK/);
    t.regex(await c.cmd('PASS alice-lab'), /^\+OK alice's maildrop has 0 messages \(0 octets\)/);
    t.regex(await c.cmd('USER alice'), /^-ERR USER is not allowed in the TRANSACTION state/);
    t.regex(await c.cmd('QUIT'), /^\+OK/);
  } finally {
    await lab.stop();
  }
});

test('APOP with the greeting timestamp', async (t) => {
  const lab = await startPop3Lab();
  try {
    const c = await pop3Connect(lab.port);
    const ts = /<[^>]+>/.exec(await c.line())![0];
    const digest = (secret: string) =>
      createHash('md5')
        .update(ts + secret)
        .digest('hex');
    t.regex(await c.cmd(`APOP alice ${digest('wrong')}`), /^-ERR \[AUTH\]/);
    t.regex(await c.cmd('APOP alice xyz'), /^-ERR \[AUTH\]/);
    t.regex(await c.cmd(`APOP alice ${digest('alice-lab')}`), /^\+OK alice's maildrop/);
    await c.cmd('QUIT');
    // A different connection has a different timestamp: the old digest is useless there.
    const d = await pop3Connect(lab.port);
    const ts2 = /<[^>]+>/.exec(await d.line())![0];
    t.not(ts2, ts);
    t.regex(await d.cmd(`APOP alice ${digest('alice-lab')}`), /^-ERR \[AUTH\]/);
    d.close();
  } finally {
    await lab.stop();
  }
});

test('AUTH PLAIN: initial response, empty challenge, cancel, malformed, wrong authzid', async (t) => {
  const lab = await startPop3Lab();
  try {
    const c = await pop3Connect(lab.port);
    await c.line();
    const mechs = await c.multi('AUTH');
    t.regex(mechs.status, /^\+OK/);
    t.is(mechs.data.toString(), 'PLAIN\r\n');
    t.regex(await c.cmd('AUTH CRAM-MD5'), /^-ERR unsupported authentication mechanism/);
    t.regex(await c.cmd(`AUTH PLAIN ${plain('', 'alice', 'bad')}`), /^-ERR \[AUTH\]/);
    t.regex(await c.cmd('AUTH PLAIN ***'), /^-ERR \[AUTH\] malformed/);
    t.regex(await c.cmd('AUTH PLAIN ='), /^-ERR \[AUTH\]/);
    t.regex(await c.cmd(`AUTH PLAIN ${plain('bob', 'alice', 'alice-lab')}`), /^-ERR \[AUTH\] not authorized/);
    // A CR LF smuggled inside the authzid is not echoed raw (it would forge a second reply).
    t.is(await c.cmd(`AUTH PLAIN ${plain('x\r\n+OK forged', 'alice', 'alice-lab')}`), '-ERR [AUTH] not authorized to act as x??+OK forged');
    t.regex(await c.cmd('NOOP'), /^-ERR NOOP is not allowed in the AUTHORIZATION state/);
    t.is(await c.cmd('AUTH PLAIN'), '+ ');
    t.regex(await c.cmd('*'), /^-ERR authentication cancelled/);
    t.is(await c.cmd('auth plain'), '+ ');
    t.regex(await c.cmd(plain('alice', 'alice', 'alice-lab')), /^\+OK alice's maildrop/);
    t.regex(await c.cmd(`AUTH PLAIN ${plain('', 'alice', 'alice-lab')}`), /^-ERR AUTH is not allowed in the TRANSACTION state/);
    await c.cmd('QUIT');
    const d = await pop3Connect(lab.port);
    await d.line();
    t.regex(await d.cmd(`AUTH PLAIN ${plain('', 'bob@lab.test', 'bob-lab')}`), /^\+OK bob's maildrop/);
    d.close();
  } finally {
    await lab.stop();
  }
});

test('the maildrop lock: a second session gets -ERR [IN-USE] until the first ends', async (t) => {
  const lab = await startPop3Lab();
  try {
    const a = await login(lab);
    const b = await pop3Connect(lab.port);
    await b.line();
    await b.cmd('USER alice');
    t.regex(await b.cmd('PASS alice-lab'), /^-ERR \[IN-USE\]/);
    t.regex(await b.cmd(`AUTH PLAIN ${plain('', 'alice', 'alice-lab')}`), /^-ERR \[IN-USE\]/);
    // Another user is not affected.
    await b.cmd('USER bob');
    t.regex(await b.cmd('PASS bob-lab'), /^\+OK/);
    await b.cmd('QUIT');
    // A dropped connection releases the lock too.
    a.close();
    await a.closed;
    let r = '';
    for (let i = 0; i < 50; i++) {
      const c = await pop3Connect(lab.port);
      await c.line();
      await c.cmd('USER alice');
      r = await c.cmd('PASS alice-lab');
      c.close();
      if (r.startsWith('+OK')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    t.regex(r, /^\+OK/);
  } finally {
    await lab.stop();
  }
});

test('STAT, LIST, UIDL, RETR, TOP with exact sizes and dot-stuffing', async (t) => {
  const lab = await startPop3Lab();
  try {
    const m1 = message('one', 'first body\r\n');
    const m2 = message('two', '.starts with a dot\r\n..two dots\r\n.\r\nend\r\n');
    const m3 = message('three', 'l1\r\nl2\r\nl3\r\n');
    for (const m of [m1, m2, m3]) await lab.deliver('alice', m);
    const sizes = [m1, m2, m3].map((m) => Buffer.byteLength(m));
    const c = await login(lab);
    t.is(await c.cmd('STAT'), `+OK 3 ${sizes[0] + sizes[1] + sizes[2]}`);
    const list = await c.multi('LIST');
    t.is(list.data.toString(), sizes.map((s, i) => `${i + 1} ${s}\r\n`).join(''));
    t.is(await c.cmd('LIST 2'), `+OK 2 ${sizes[1]}`);
    const uidl = await c.multi('UIDL');
    const uids = uidl.data
      .toString()
      .split('\r\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[1]);
    t.is(new Set(uids).size, 3);
    for (const u of uids) t.regex(u, /^[\x21-\x7e]{1,70}$/);
    t.is(await c.cmd('UIDL 3'), `+OK 3 ${uids[2]}`);
    const r2 = await c.multi('RETR 2');
    t.is(r2.status, `+OK ${sizes[1]} octets`);
    t.is(r2.data.toString(), m2);
    const top = await c.multi('TOP 3 2');
    t.is(top.data.toString(), m3.slice(0, m3.indexOf('\r\n\r\n') + 4) + 'l1\r\nl2\r\n');
    const top0 = await c.multi('TOP 3 0');
    t.is(top0.data.toString(), m3.slice(0, m3.indexOf('\r\n\r\n') + 4));
    t.is(await c.cmd('NOOP'), '+OK');
    // After login CAPA no longer offers the ways to log in (RFC 2449 section 6.3, RFC 5034 section 3).
    const caps = (await c.multi('CAPA')).data.toString().split('\r\n');
    t.true(caps.includes('UIDL'));
    t.false(caps.includes('USER'));
    t.false(caps.some((l) => l.startsWith('SASL')));
    await c.cmd('QUIT');
    // UIDs are the same in the next session.
    const d = await login(lab);
    t.deepEqual(
      (await d.multi('UIDL')).data
        .toString()
        .split('\r\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[1]),
      uids,
    );
    d.close();
  } finally {
    await lab.stop();
  }
});

test('bad message numbers get -ERR and the session goes on', async (t) => {
  const lab = await startPop3Lab();
  try {
    await lab.deliver('alice', message('x', 'x\r\n'));
    const c = await login(lab);
    t.regex(await c.cmd('RETR 0'), /^-ERR no such message 0/);
    t.regex(await c.cmd('RETR 2'), /^-ERR no such message 2/);
    t.regex(await c.cmd('LIST abc'), /^-ERR invalid message number/);
    t.regex(await c.cmd('DELE -1'), /^-ERR invalid message number/);
    t.regex(await c.cmd('TOP 1 x'), /^-ERR invalid line count/);
    t.regex(await c.cmd('TOP 1'), /^-ERR usage: TOP message-number lines/);
    t.regex(await c.cmd('RETR 99999999999999'), /^-ERR invalid message number/);
    t.regex(await c.cmd('DELE 1'), /^\+OK/);
    t.regex(await c.cmd('RETR 1'), /^-ERR message 1 is marked as deleted/);
    t.regex(await c.cmd('DELE 1'), /^-ERR message 1 is marked as deleted/);
    t.regex(await c.cmd('LIST 1'), /^-ERR/);
    t.is((await c.multi('LIST')).data.length, 0);
    t.is(await c.cmd('STAT'), '+OK 0 0');
    t.regex(await c.cmd('RSET'), /^\+OK maildrop has 1 message/);
    t.regex(await c.cmd('RETR 1').then(async (s) => (await c.multiline(), s)), /^\+OK/);
    c.close();
  } finally {
    await lab.stop();
  }
});

test('DELE then a dropped connection keeps the message; DELE then QUIT removes it', async (t) => {
  const lab = await startPop3Lab();
  try {
    await lab.deliver('alice', message('keep', 'k\r\n'));
    await lab.deliver('alice', message('gone', 'g\r\n'));
    const a = await login(lab);
    t.regex(await a.cmd('DELE 1'), /^\+OK/);
    t.regex(await a.cmd('DELE 2'), /^\+OK/);
    a.close();
    await a.closed;
    let b: Pop3Wire | undefined;
    for (let i = 0; i < 50 && !b; i++) {
      try {
        b = await login(lab);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    t.regex(await b!.cmd('STAT'), /^\+OK 2 /);
    t.regex(await b!.cmd('DELE 2'), /^\+OK/);
    const notices: string[] = [];
    lab.lab.events.subscribe((e) => e.type === 'notice' && notices.push(e.message));
    t.is(await b!.cmd('QUIT'), '+OK labnet POP3 server signing off (1 message left)');
    await lab.lab.events.settled();
    t.true(
      notices.some((m) => /^UPDATE state: 1 message removed from the maildrop of alice$/.test(m)),
      notices.join('\n'),
    );
    await b!.closed;
    const snap = await lab.store.open('alice', 'INBOX');
    t.is(snap.messages.length, 1);
    const c = await login(lab);
    t.regex((await c.multi('RETR 1')).data.toString(), /Subject: keep/);
    c.close();
  } finally {
    await lab.stop();
  }
});

test('numbers and sizes stay fixed when new mail arrives during the session', async (t) => {
  const lab = await startPop3Lab();
  try {
    await lab.deliver('alice', message('old', 'o\r\n'));
    const c = await login(lab);
    const before = await c.cmd('STAT');
    await lab.deliver('alice', message('new', 'n\r\n'));
    t.is(await c.cmd('STAT'), before);
    t.regex(await c.cmd('LIST 2'), /^-ERR no such message 2/);
    await c.cmd('QUIT');
    const d = await login(lab);
    t.regex(await d.cmd('STAT'), /^\+OK 2 /);
    d.close();
  } finally {
    await lab.stop();
  }
});

test('a large message is streamed byte for byte', async (t) => {
  const lab = await startPop3Lab();
  try {
    const line = `${'.'.repeat(3)}${'x'.repeat(70)}\r\n`;
    const big = message('big', line.repeat(8000)); // ~600 KB, beyond the one-write limit
    await lab.deliver('alice', big);
    const c = await login(lab);
    const r = await c.multi('RETR 1');
    t.is(r.status, `+OK ${Buffer.byteLength(big)} octets`);
    t.true(r.data.equals(Buffer.from(big)));
    const top = await c.multi('TOP 1 1');
    t.is(top.data.toString(), big.slice(0, big.indexOf('\r\n\r\n') + 4) + line);
    c.close();
  } finally {
    await lab.stop();
  }
});

test('pipelined commands are answered in order', async (t) => {
  const lab = await startPop3Lab();
  try {
    const msgs = [message('p1', 'a\r\n'), message('p2', '.b\r\n')];
    for (const m of msgs) await lab.deliver('alice', m);
    const c = await pop3Connect(lab.port);
    await c.line();
    c.socket.write('USER alice\r\nPASS alice-lab\r\nSTAT\r\nRETR 1\r\nBOGUS\r\nRETR 2\r\nQUIT\r\n');
    t.regex(await c.line(), /^\+OK/);
    t.regex(await c.line(), /^\+OK alice's maildrop has 2 messages/);
    t.regex(await c.line(), /^\+OK 2 /);
    t.regex(await c.line(), /^\+OK/);
    t.is((await c.multiline()).toString(), msgs[0]);
    t.regex(await c.line(), /^-ERR unknown command/);
    t.regex(await c.line(), /^\+OK/);
    t.is((await c.multiline()).toString(), msgs[1]);
    t.regex(await c.line(), /^\+OK .*signing off/);
    await c.closed;
  } finally {
    await lab.stop();
  }
});

test('protocol events describe the dialogue without passwords', async (t) => {
  const lab = await startPop3Lab();
  try {
    const events: ProtocolEvent[] = [];
    lab.lab.events.subscribe((e) => events.push(e));
    const c = await pop3Connect(lab.port);
    const ts = /<[^>]+>/.exec(await c.line())![0];
    await c.cmd('USER alice');
    await c.cmd('PASS wrong-secret-1');
    await c.cmd('PASS alice-lab');
    await c.cmd(`AUTH PLAIN ${plain('', 'alice', 'sekrit-2')}`);
    await c.cmd('AUTH PLAIN');
    await c.cmd(plain('', 'alice', 'alice-lab'));
    await c.cmd(
      `APOP alice ${createHash('md5')
        .update(ts + 'x')
        .digest('hex')}`,
    );
    await c.cmd('PAS typo-secret-3');
    await c.cmd('QUIT');
    await c.closed;
    await lab.lab.events.settled();
    const text = JSON.stringify(events);
    for (const secret of ['wrong-secret-1', 'alice-lab', 'sekrit-2', 'typo-secret-3', plain('', 'alice', 'sekrit-2'), plain('', 'alice', 'alice-lab')]) {
      t.false(text.includes(secret), secret);
    }
    const commands = events.filter((e) => e.type === 'command').map((e) => (e as { text: string }).text);
    t.true(commands.includes('USER alice'));
    t.true(commands.includes('PASS <redacted>'));
    t.true(commands.includes('AUTH PLAIN <redacted>'));
    t.true(commands.includes('AUTH PLAIN'));
    t.true(commands.includes('QUIT'));
    t.true(events.some((e) => e.type === 'reply' && e.text.startsWith('+OK alice')));
    t.true(events.some((e) => e.type === 'session.open'));
    t.true(events.some((e) => e.type === 'notice' && /alice logged in with AUTH PLAIN; .*TRANSACTION state/.test(e.message)));
  } finally {
    await lab.stop();
  }
});

test('idle timeout closes without a reply and deletes nothing', async (t) => {
  const lab = await startPop3Lab({ idleTimeoutMs: 3000 });
  try {
    await lab.deliver('alice', message('idle', 'i\r\n'));
    const c = await login(lab);
    t.regex(await c.cmd('DELE 1'), /^\+OK/);
    let extra = '';
    c.socket.on('data', (d: Buffer) => (extra += d.toString()));
    await c.closed;
    t.is(extra, '');
    t.is((await lab.store.open('alice', 'INBOX')).messages.length, 1);
  } finally {
    await lab.stop();
  }
});

test('shutdown tells an idle client and deletes nothing', async (t) => {
  const lab = await startPop3Lab();
  await lab.deliver('alice', message('shutdown', 's\r\n'));
  const c = await login(lab);
  t.regex(await c.cmd('DELE 1'), /^\+OK/);
  const stopping = lab.lab.stop();
  t.regex(await c.line(), /^-ERR \[SYS\/TEMP\] server shutting down/);
  await c.closed;
  await stopping;
  const { MailStore } = await import('../../core/mail-store/index.js');
  const store = new MailStore(lab.dataDir);
  await store.start();
  t.is((await store.open('alice', 'INBOX')).messages.length, 1);
  await store.stop();
  await lab.stop();
});

test('a client that pipelines without reading is not answered into memory without bound', async (t) => {
  const lab = await startPop3Lab();
  try {
    await lab.deliver('alice', message('flood', 'y'.repeat(4000) + '\r\n'));
    const c = await login(lab);
    const bytesOut = (): number => lab.lab.status().find((s) => s.name === 'pop3')!.bytesOut!;
    // 8 MB of commands, 4 GB of replies.
    const result = await floodWithoutReading(c.socket, Buffer.from('RETR 1\r\n'.repeat(1_000_000)), bytesOut, 32 * 1024 * 1024);
    // bytesOut counts what the session handed to the socket, buffered or not: it stays within the
    // kernel's socket buffers plus one batch of replies instead of growing by the 4 GB asked for.
    t.log(`server output stopped at ${result.bytesOut} octets`);
    t.false(result.unbounded, `server wrote ${result.bytesOut} octets for a client that reads nothing`);
    t.true(result.bytesOut < 32 * 1024 * 1024);
    c.close();
  } finally {
    await lab.stop();
  }
});

test('random bytes get -ERR replies and never end the session early or crash the server', async (t) => {
  const lab = await startPop3Lab({ maxErrors: 1000 });
  try {
    const { randomBytes } = await import('node:crypto');
    const c = await pop3Connect(lab.port);
    await c.line();
    for (let i = 0; i < 200; i++) {
      let junk = randomBytes(1 + (i % 40))
        .toString('latin1')
        .replace(/[\r\n]/g, ' ');
      // Keep clear of commands that would legitimately change the state or end the session.
      if (/^\s*(QUIT|USER|PASS|APOP|AUTH)/i.test(junk)) junk = `X${junk}`;
      c.socket.write(Buffer.from(`${junk}\r\n`, 'latin1'));
      t.regex(await c.line(), /^-ERR /);
    }
    t.regex(await c.cmd('USER alice'), /^\+OK/);
    t.regex(await c.cmd('PASS alice-lab'), /^\+OK/);
    c.close();
  } finally {
    await lab.stop();
  }
});

test('a message removed by another client meanwhile gets -ERR [SYS/PERM], the session goes on', async (t) => {
  const lab = await startPop3Lab();
  try {
    await lab.deliver('alice', message('a', 'a\r\n'));
    await lab.deliver('alice', message('b', 'b\r\n'));
    const c = await login(lab);
    const snap = await lab.store.open('alice', 'INBOX');
    await lab.store.expunge('alice', 'INBOX', [snap.messages[1].uid]);
    t.regex(await c.cmd('RETR 2'), /^-ERR \[SYS\/PERM\] message 2 was removed by another client/);
    t.regex((await c.multi('RETR 1')).data.toString(), /Subject: a/);
    t.regex(await c.cmd('DELE 2'), /^\+OK/);
    t.regex(await c.cmd('QUIT'), /^\+OK/);
    t.is((await lab.store.open('alice', 'INBOX')).messages.length, 1);
  } finally {
    await lab.stop();
  }
});

test('tls.offerStartTls: CAPA lists STLS by default; switched off, STLS is neither listed nor accepted', async (t) => {
  const offered = await startPop3Lab();
  const off = await startPop3Lab({}, { tls: { offerStartTls: false } });
  try {
    const a = await pop3Connect(offered.port);
    await a.line();
    t.true((await a.multi('CAPA')).data.toString().split('\r\n').includes('STLS'));
    a.close();
    const b = await pop3Connect(off.port);
    await b.line();
    t.false((await b.multi('CAPA')).data.toString().split('\r\n').includes('STLS'));
    t.is(await b.cmd('STLS'), '-ERR STLS is not offered on this server');
    t.regex(await b.cmd('USER alice'), /^\+OK/);
    t.regex(await b.cmd('PASS alice-lab'), /^\+OK alice's maildrop/);
    b.close();
  } finally {
    await offered.stop();
    await off.stop();
  }
});
