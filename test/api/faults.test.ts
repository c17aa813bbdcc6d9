// Fault injection (core/faults) with real clients: nodemailer sees the replies a rule injects at the
// greeting, RCPT and the end of DATA; imapflow sees an injected NO and a FETCH cut mid-literal;
// Python's poplib and smtplib see an injected -ERR, a RETR cut short and a delay; a seeded probability
// plays the same way twice; every applied fault is a notice event; rules come from the config, the
// API and REST, are bounded, and once removed leave the services as they were.
import test from 'ava';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import type { ProtocolEvent } from '../../core/events.js';
import { LabnetError } from '../../core/errors.js';
import type { LabHub } from '../../core/lab/hub.js';
import { TOKENS } from '../../core/tokens.js';
import { startTestLab, type TestLab } from './fixture.js';

let t0: TestLab;
const notices: Array<Extract<ProtocolEvent, { type: 'notice' }>> = [];

test.before(async () => {
  t0 = await startTestLab({
    faults: {
      maxRules: 5,
      maxDelayMs: 2000,
      rules: [{ id: 'from-config', service: 'smtp', at: 'RCPT', recipient: 'nobody-here@lab.test', reply: '550 5.1.1 injected from the config' }],
    },
  });
  t0.lab.events.subscribe((e) => {
    if (e.type === 'notice' && e.detail?.fault !== undefined) notices.push(e);
  });
});

test.after.always(async () => {
  await t0?.stop();
});

test.afterEach.always(() => {
  for (const r of t0.lab.faults.list()) if (r.id !== 'from-config') t0.lab.faults.remove(r.id);
});

const transport = () => nodemailer.createTransport(t0.lab.clients.nodemailer());
const mail = (to: string, subject: string) => ({ from: 'tester@school.example', to, subject, text: `body of ${subject}\n` });

async function applied(id: string): Promise<Array<Extract<ProtocolEvent, { type: 'notice' }>>> {
  await t0.lab.events.settled();
  return notices.filter((n) => n.detail?.fault === id && n.detail?.at !== undefined);
}

function python(script: string, input: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile('python3', ['-c', script], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    p.stdin!.end(JSON.stringify(input));
  });
}

test.serial('a rule from the config refuses one recipient; the others get the mail', async (t) => {
  t.deepEqual(
    t0.lab.faults.list().map((r) => r.id),
    ['from-config'],
  );
  const err = await t.throwsAsync(transport().sendMail(mail('nobody-here@lab.test', 'cfg')));
  t.is((err as { responseCode?: number }).responseCode, 550);
  t.regex(err.message, /injected from the config/);
  await transport().sendMail(mail('alice@lab.test', 'cfg-ok'));
  await t0.lab.mail.waitFor({ to: 'alice@lab.test', subject: 'cfg-ok' });
  const events = await applied('from-config');
  t.is(events.length, 1);
  t.is(events[0].service, 'smtp');
  t.is(events[0].detail?.at, 'RCPT');
  t.truthy(events[0].session);
  // The live lab shows it in the session's transcript.
  const hub = t0.lab.get<LabHub>(TOKENS.Lab);
  const transcript = hub.transcript({ role: 'instructor', user: 'teacher', address: '127.0.0.1' }, events[0].session!);
  t.true(transcript?.lines.some((l) => l.kind === 'notice' && /fault injected by rule from-config at RCPT/.test(l.text)));
});

test.serial('nodemailer: RCPT refused once for one recipient (times), then delivered; the rule counts', async (t) => {
  const rule = t0.lab.faults.add({ service: 'smtp', at: 'rcpt', recipient: 'bob@*', reply: '450 4.2.1 injected: mailbox busy', times: 1 });
  t.is(rule.id, 'f1');
  t.is(rule.at, 'RCPT');
  const err = await t.throwsAsync(transport().sendMail(mail('bob@lab.test', 'busy-1')));
  t.is((err as { responseCode?: number }).responseCode, 450);
  await transport().sendMail(mail('bob@lab.test', 'busy-2'));
  await t0.lab.mail.waitFor({ to: 'bob@lab.test', subject: 'busy-2' });
  t.like(t0.lab.faults.get(rule.id), { matched: 2, applied: 1 });
  t.is((await applied(rule.id)).length, 1);
  t.deepEqual(await t0.lab.mail.messages({ user: 'bob', subject: 'busy-1' }), []);
});

test.serial('nodemailer: the end of DATA fails after N messages (after), with the sender matched', async (t) => {
  const rule = t0.lab.faults.add({ at: 'end-of-data', sender: '*@school.example', after: 2, reply: '554 5.3.4 injected: message refused' });
  const tx = transport();
  await tx.sendMail(mail('alice@lab.test', 'after-1'));
  await tx.sendMail(mail('alice@lab.test', 'after-2'));
  const err = await t.throwsAsync(tx.sendMail(mail('alice@lab.test', 'after-3')));
  t.is((err as { responseCode?: number }).responseCode, 554);
  // Another sender does not match.
  await tx.sendMail({ ...mail('alice@lab.test', 'after-4'), from: 'other@elsewhere.example' });
  tx.close();
  const got = await t0.lab.mail.waitFor({ to: 'alice@lab.test', subject: 'after-', count: 3 });
  t.deepEqual(got.map((m) => m.subject).sort(), ['after-1', 'after-2', 'after-4']);
  t.like(t0.lab.faults.get(rule.id), { matched: 3, applied: 1 });
  const [ev] = await applied(rule.id);
  t.is(ev.detail?.at, 'END-OF-DATA');
  t.is(ev.level, 'warn');
});

test.serial('nodemailer: a greeting that answers 421 and closes; a delay at MAIL', async (t) => {
  const g = t0.lab.faults.add({ service: 'smtp', at: 'greeting', reply: '421 4.3.2 injected: try later', close: true, times: 1 });
  const err = await t.throwsAsync(transport().sendMail(mail('alice@lab.test', 'greet')));
  t.regex(err.message, /421|injected|closed/i);
  t.is((await applied(g.id)).length, 1);
  t0.lab.faults.remove(g.id);
  const d = t0.lab.faults.add({ service: 'smtp', at: 'MAIL', delayMs: 400 });
  const start = Date.now();
  await transport().sendMail(mail('alice@lab.test', 'delayed'));
  t.true(Date.now() - start >= 390, 'the MAIL reply waited for the delay');
  const [ev] = await applied(d.id);
  t.is(ev.detail?.delayMs, 400);
});

test.serial('imapflow: an injected NO for FETCH (tagged), then a FETCH cut mid-literal drops the connection', async (t) => {
  await transport().sendMail({ ...mail('alice@lab.test', 'imap-fault'), text: 'x'.repeat(20_000) });
  await t0.lab.mail.waitFor({ to: 'alice@lab.test', subject: 'imap-fault' });
  const no = t0.lab.faults.add({ service: 'imap', user: 'alice', at: 'UID FETCH', reply: 'NO [UNAVAILABLE] injected: try again', times: 1 });
  const client = new ImapFlow(t0.lab.clients.imapflow({ user: 'alice', password: 'alice-pw' }));
  await client.connect();
  const lock = await client.getMailboxLock('INBOX');
  try {
    const uids = (await client.search({ subject: 'imap-fault' }, { uid: true })) || [];
    t.is(uids.length, 1);
    const err = await t.throwsAsync(async () => {
      for await (const _m of client.fetch(String(uids[0]), { source: true }, { uid: true })) void _m;
    });
    t.regex(String((err as { responseText?: string }).responseText ?? err.message), /injected|UNAVAILABLE|failed/i);
    t.is((await applied(no.id)).length, 1);
    t0.lab.faults.add({ id: 'cut', service: 'imap', at: 'UID FETCH', closeAfterBytes: 2000 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await t.throwsAsync(client.fetchOne(String(uids[0]), { source: true }, { uid: true }));
    await closed;
    t.is((await applied('cut')).length, 1);
  } finally {
    lock.release();
    await client.logout().catch(() => undefined);
  }
  // Removed: a new session fetches the whole message.
  t0.lab.faults.remove('cut');
  const again = new ImapFlow(t0.lab.clients.imapflow({ user: 'alice', password: 'alice-pw' }));
  await again.connect();
  await again.mailboxOpen('INBOX');
  const uids = (await again.search({ subject: 'imap-fault' }, { uid: true })) || [];
  const m = await again.fetchOne(String(uids[0]), { source: true }, { uid: true });
  t.true(m && m.source !== undefined && m.source.length > 20_000);
  await again.logout();
});

const POP_SCRIPT = `
import json, sys, poplib, smtplib, time
cfg = json.load(sys.stdin)
out = {}
p = poplib.POP3('127.0.0.1', cfg['pop3'], timeout=10)
try:
    p.user('alice')
    out['user'] = 'ok'
except poplib.error_proto as e:
    out['user'] = e.args[0].decode()
p.quit()
p = poplib.POP3('127.0.0.1', cfg['pop3'], timeout=10)
p.user('alice'); p.pass_('alice-pw')
try:
    resp, lines, octets = p.retr(1)
    out['retr'] = 'whole'
except Exception as e:
    out['retr'] = type(e).__name__
s = smtplib.SMTP('127.0.0.1', cfg['smtp'], timeout=10)
t = time.monotonic()
code, _ = s.noop()
out['noop'] = code
out['noopMs'] = int((time.monotonic() - t) * 1000)
s.quit()
print(json.dumps(out))
`;

test.serial('Python: poplib sees an injected -ERR at USER and a RETR cut short; smtplib a delayed NOOP', async (t) => {
  await transport().sendMail(mail('alice@lab.test', 'pop-fault'));
  await t0.lab.mail.waitFor({ to: 'alice@lab.test', subject: 'pop-fault' });
  t0.lab.faults.add({ id: 'pop-user', service: 'pop3', at: 'USER', user: 'alice', reply: '-ERR [SYS/TEMP] injected', times: 1 });
  t0.lab.faults.add({ id: 'pop-retr', service: 'pop3', at: 'RETR', closeAfterBytes: 40 });
  t0.lab.faults.add({ id: 'smtp-noop', service: 'smtp', at: 'NOOP', client: '127.0.0.1', delayMs: 300 });
  const r = await python(POP_SCRIPT, { pop3: t0.lab.ports.pop3, smtp: t0.lab.ports.smtp });
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { user: string; retr: string; noop: number; noopMs: number };
  t.is(out.user, '-ERR [SYS/TEMP] injected');
  t.not(out.retr, 'whole');
  t.is(out.noop, 250);
  t.true(out.noopMs >= 290);
  for (const id of ['pop-user', 'pop-retr', 'smtp-noop']) t.is((await applied(id)).length, 1, id);
});

/** Sends NOOP n times on one raw SMTP session; true where the reply was the injected one. */
async function noops(n: number): Promise<boolean[]> {
  const sock = connect(t0.lab.ports.smtp, '127.0.0.1');
  let buf = '';
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
    wake?.();
  });
  const next = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((r) => (wake = r));
    return lines.shift()!;
  };
  await next();
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    sock.write('NOOP\r\n');
    out.push((await next()).includes('chaos'));
  }
  sock.end('QUIT\r\n');
  return out;
}

test.serial('a seeded probability plays the same way twice, and another seed differently', async (t) => {
  const rule = { id: 'chaos', service: 'smtp' as const, at: 'NOOP', probability: 0.5, seed: 42, reply: '250 2.0.0 chaos' };
  t0.lab.faults.add(rule);
  const first = await noops(40);
  t0.lab.faults.remove('chaos');
  t0.lab.faults.add(rule);
  const second = await noops(40);
  t0.lab.faults.remove('chaos');
  t0.lab.faults.add({ ...rule, seed: 7 });
  const third = await noops(40);
  t.deepEqual(first, second);
  t.notDeepEqual(first, third);
  const hits = first.filter(Boolean).length;
  t.true(hits > 5 && hits < 35, `about half: ${hits}`);
});

test.serial('bounded: invalid rules, delays over the cap, too many rules, a duplicate id', (t) => {
  const code = (f: () => unknown): string | undefined => (t.throws(f) as LabnetError | undefined)?.code;
  t.is(
    code(() => t0.lab.faults.add({ at: 'RCPT' })),
    'FAULT_INVALID',
  );
  t.is(
    code(() => t0.lab.faults.add({ reply: 'bad\r\nline' })),
    'FAULT_INVALID',
  );
  t.is(
    code(() => t0.lab.faults.add({ reply: '421 x', closeAfterBytes: 3 })),
    'FAULT_INVALID',
  );
  t.is(
    code(() => t0.lab.faults.add({ delayMs: 2001 })),
    'FAULT_INVALID',
  );
  t.is(
    code(() => t0.lab.faults.add({ probability: 2, close: true })),
    'FAULT_INVALID',
  );
  t0.lab.faults.add({ id: 'dup', at: 'HELP', reply: '214 x' });
  t.is(
    code(() => t0.lab.faults.add({ id: 'dup', at: 'HELP', reply: '214 x' })),
    'FAULT_EXISTS',
  );
  for (let i = 0; i < 3; i++) t0.lab.faults.add({ at: 'HELP', reply: '214 x' });
  t.is(t0.lab.faults.list().length, 5);
  t.is(
    code(() => t0.lab.faults.add({ at: 'HELP', reply: '214 x' })),
    'FAULT_LIMIT',
  );
});

test.serial('clear removes every rule and the services answer as before', async (t) => {
  t0.lab.faults.add({ at: 'greeting', close: true });
  t0.lab.faults.add({ at: 'RCPT', reply: '451 4.0.0 nope' });
  t.is(t0.lab.faults.clear(), 3);
  t.deepEqual(t0.lab.faults.list(), []);
  await transport().sendMail(mail('bob@lab.test', 'after-clear-bob'));
  await t0.lab.mail.waitFor({ to: 'bob@lab.test', subject: 'after-clear-bob' });
  t.pass();
});
