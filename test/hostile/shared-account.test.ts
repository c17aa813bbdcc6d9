// Issue 14: a shared account (one login for a group of students) cannot be locked by one address.
// POP3: the maildrop lock (RFC 1939 section 4) held by a session from another address is taken over
// when that session has been idle longer than lockIdleMs or has held it longer than lockMaxHoldMs; until
// then, and always for the same address, a newcomer gets -ERR [IN-USE] (RFC 2449 section 8.1.1). The
// session that loses the lock ends without UPDATE, so nothing it marked is deleted. IMAP: one address
// holds at most maxSessionsPerUserAndAddress of a user's sessions (default four fifths of
// maxSessionsPerUser). Before: one idle POP3 session kept everyone out for its 10-minute autologout (or
// forever with NOOPs), and one address could take every IMAP slot. Real process, 127.0.0.2 and 127.0.0.3.
import test from 'ava';
import { LineClient } from '../support/line-client.js';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { connectFrom } from './helpers.js';

const A = '127.0.0.2';
const B = '127.0.0.3';

async function pop3Login(lab: LabProcess, from: string): Promise<{ c: LineClient; reply: string }> {
  const c = await connectFrom(lab.port('pop3'), from);
  await c.line();
  c.write('USER alice\r\n');
  await c.line();
  c.write('PASS alice-lab\r\n');
  return { c, reply: (await c.line()) ?? '<closed>' };
}

async function cmd(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  return (await c.line()) ?? '<closed>';
}

/** PASS again every 100 ms until +OK (or `ms` passed); returns when it succeeded, after `since`. */
async function retryUntilOk(c: LineClient, since: number, ms: number): Promise<{ afterMs: number; refusals: string[] }> {
  const refusals: string[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await cmd(c, 'USER alice');
    const r = await cmd(c, 'PASS alice-lab');
    if (r.startsWith('+OK')) return { afterMs: Date.now() - since, refusals };
    refusals.push(r);
    await new Promise((res) => setTimeout(res, 100));
  }
  return { afterMs: Infinity, refusals };
}

test('POP3: a shared maildrop lock is bounded per address: IN-USE while legitimately held, then taken over', async (t) => {
  const lab = await startLabProcess({
    only: ['smtp', 'pop3'],
    config: { services: { pop3: { lockIdleMs: 1500, lockMaxHoldMs: 4000 } } },
  });
  const open: LineClient[] = [];
  try {
    // One message in alice's maildrop.
    const s = await connectFrom(lab.port('smtp'), '127.0.0.1');
    await s.line();
    for (const l of ['EHLO t', 'MAIL FROM:<t@lab.test>', 'RCPT TO:<alice@lab.test>', 'DATA']) {
      s.write(`${l}\r\n`);
      while (!/^\d{3} /.test((await s.line()) ?? '000 ')) {
        // multi-line EHLO
      }
    }
    s.write('Subject: one\r\n\r\nhello\r\n.\r\nQUIT\r\n');
    t.regex((await s.line()) ?? '', /^250 /);
    s.end();

    // A holds the lock and marks the message deleted.
    const a = await pop3Login(lab, A);
    open.push(a.c);
    t.regex(a.reply, /^\+OK alice's maildrop has 1 message/);
    t.regex(await cmd(a.c, 'DELE 1'), /^\+OK/);
    const aActive = Date.now();
    // B, from another address, while A is active: IN-USE.
    const b = await pop3Login(lab, B);
    open.push(b.c);
    t.regex(b.reply, /^-ERR \[IN-USE\] maildrop of alice is in use by another POP3 session/);
    // The same address as the holder never takes it over (the ordinary RFC 1939 lock).
    const same = await pop3Login(lab, A);
    open.push(same.c);
    t.regex(same.reply, /^-ERR \[IN-USE\]/);
    // A goes idle: after lockIdleMs B gets the maildrop, A's session ends, its DELE is not applied.
    const took = await retryUntilOk(b.c, aActive, 8000);
    t.log(`B took the idle lock after ${took.afterMs} ms (${took.refusals.length} IN-USE refusals)`);
    t.true(took.afterMs >= 1500 && took.afterMs < 8000);
    t.true(took.refusals.every((r) => r.startsWith('-ERR [IN-USE]')));
    t.is(await a.c.line(2000), null, "A's connection is closed");
    t.regex(await cmd(b.c, 'STAT'), /^\+OK 1 /, "A's DELE was not applied (no UPDATE state)");

    // B stays busy (NOOP every 200 ms): A's address waits for lockMaxHoldMs, not forever.
    const bHeld = Date.now();
    let busy = true;
    const noops = (async () => {
      while (busy) {
        const r = await cmd(b.c, 'NOOP');
        if (!r.startsWith('+OK')) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    const retaker = await pop3Login(lab, A);
    open.push(retaker.c);
    t.regex(retaker.reply, /^-ERR \[IN-USE\]/, 'an active holder within the hold bound keeps the lock');
    const again = await retryUntilOk(retaker.c, bHeld, 10_000);
    busy = false;
    await noops;
    t.log(`A took the busy lock after ${again.afterMs} ms`);
    t.true(again.afterMs >= 4000 && again.afterMs < 10_000);
    t.regex(await cmd(retaker.c, 'STAT'), /^\+OK 1 /);
    t.regex(await cmd(retaker.c, 'QUIT'), /^\+OK/);
  } finally {
    for (const c of open) c.end();
    await lab.stop();
    lab.cleanup();
  }
});

test('IMAP: one address cannot fill a shared account session limit; another address still logs in', async (t) => {
  const lab = await startLabProcess({ only: ['imap'], config: { services: { imap: { maxSessionsPerUser: 5 } } } });
  const open: LineClient[] = [];
  const login = async (from: string): Promise<string> => {
    const c = await connectFrom(lab.port('imap'), from);
    open.push(c);
    await c.line();
    c.write('a LOGIN alice alice-lab\r\n');
    for (;;) {
      const l = (await c.line()) ?? '<closed>';
      if (l.startsWith('a ') || l === '<closed>') return l;
    }
  };
  try {
    for (let i = 0; i < 4; i++) t.regex(await login(A), /^a OK/, `session ${i + 1} from ${A}`);
    t.regex(await login(A), /^a NO \[LIMIT\] Too many sessions for alice from your address \(at most 4 of 5/);
    t.regex(await login(B), /^a OK/, 'another address still gets in');
    t.regex(await login(B), /^a NO \[LIMIT\] Too many sessions for alice \(at most 5\)/, 'the per-user limit still holds');
  } finally {
    for (const c of open) c.end();
    await lab.stop();
    lab.cleanup();
  }
});
