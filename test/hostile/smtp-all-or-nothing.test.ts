// Issue 14: one SMTP transaction to a local recipient and a foreign one (captured in the catch-all
// mailbox, with an extra header field) is all or nothing. Before, the two copies were two store calls:
// when the captured copy failed (the catch-all over its quota, a broken or full disk) the client got a
// 4xx and resent, but the local recipient already had the message, and kept it after a restart. Now one
// store call (MailStore.deliverEach) makes both visible together or neither. Against the real process
// with Python's smtplib as the client and poplib to look, after a restart.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';

/** Sends one message from alice (AUTH) to bob and a foreign address; returns smtplib's outcome. */
function send(lab: LabProcess, subject: string): string {
  const script = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
s.login('alice', 'alice-lab')
msg = 'From: alice@lab.test\\r\\nTo: bob@lab.test, friend@elsewhere.test\\r\\nSubject: ' + sys.argv[2] + '\\r\\n\\r\\nhello\\r\\n'
try:
    refused = s.sendmail('alice@lab.test', ['bob@lab.test', 'friend@elsewhere.test'], msg)
    print('ok', refused)
except smtplib.SMTPDataError as e:
    print('data-error', e.smtp_code, e.smtp_error.decode())
except smtplib.SMTPRecipientsRefused as e:
    print('refused', e.recipients)
s.quit()
`;
  const r = spawnSync('python3', ['-c', script, String(lab.port('smtp', 'submission')), subject], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`smtplib: ${r.stderr}`);
  return r.stdout.trim();
}

/** Subjects of every message in a user's INBOX, read with poplib. */
function inbox(lab: LabProcess, user: string): string[] {
  const script = `
import poplib, sys, email
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=20)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
n = len(p.list()[1])
for i in range(1, n + 1):
    m = email.message_from_bytes(b'\\r\\n'.join(p.retr(i)[1]))
    print(m['Subject'])
p.quit()
`;
  const r = spawnSync('python3', ['-c', script, String(lab.port('pop3')), user, `${user}-lab`], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`poplib: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Files under a Maildir's new/, cur/ and tmp/ (nothing half-made may hide there either). */
function files(dataDir: string, user: string): string[] {
  const out: string[] = [];
  for (const d of ['new', 'cur', 'tmp']) {
    try {
      out.push(...readdirSync(join(dataDir, 'mail', user, d)).map((f) => `${d}/${f}`));
    } catch {
      // not made yet
    }
  }
  return out;
}

async function restart(lab: LabProcess, config: Record<string, unknown>): Promise<LabProcess> {
  await lab.stop();
  return startLabProcess({ only: ['smtp', 'pop3'], dataDir: lab.dataDir, config });
}

test.serial('the catch-all over its quota: 452 and the local recipient gets nothing, before and after a restart', async (t) => {
  // The catch-all holds one message; the next captured copy would exceed its quota.
  const config = { mailStore: { quota: { maxMessages: 1 } } };
  let lab = await startLabProcess({ only: ['smtp', 'pop3'], config });
  try {
    const first = send(lab, 'first');
    t.regex(first, /^ok \{\}$/, 'the first message goes to both');
    t.deepEqual(inbox(lab, 'bob'), ['first']);
    // bob is at his quota too; the catch-all test is what matters, so empty bob's INBOX with POP3 DELE.
    const dele = spawnSync(
      'python3',
      ['-c', "import poplib,sys\np=poplib.POP3('127.0.0.1',int(sys.argv[1]));p.user('bob');p.pass_('bob-lab');p.dele(1);p.quit()", String(lab.port('pop3'))],
      { encoding: 'utf8' },
    );
    t.is(dele.status, 0, dele.stderr);
    const second = send(lab, 'second');
    t.regex(second, /^data-error 452 4\.2\.2 /, 'mailbox full (the catch-all), a temporary refusal the client retries');
    t.deepEqual(inbox(lab, 'bob'), [], 'the local copy is not visible either');
    lab = await restart(lab, config);
    t.deepEqual(inbox(lab, 'bob'), [], 'nor after a restart');
    t.deepEqual(files(lab.dataDir, 'bob'), []);
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});

test.serial('the captured copy cannot be written (I/O error): 451, nothing for the local recipient, before and after a restart', async (t) => {
  let lab = await startLabProcess({ only: ['smtp', 'pop3'] });
  try {
    // An injected failure: the catch-all's tmp/ is a file, so writing its copy fails with ENOTDIR
    // after the local copy has been written (the local part comes first).
    const catchall = join(lab.dataDir, 'mail', 'catchall');
    for (const d of ['cur', 'new']) mkdirSync(join(catchall, d), { recursive: true });
    writeFileSync(join(catchall, 'tmp'), 'not a directory');
    const r = send(lab, 'broken');
    t.regex(r, /^data-error 451 4\.3\.0 /);
    t.deepEqual(inbox(lab, 'bob'), [], 'the local copy is not visible');
    t.deepEqual(files(lab.dataDir, 'bob'), [], 'and no file is left in its new/, cur/ or tmp/');
    // Repaired and restarted: still nothing, and the resent message then reaches both, once.
    rmSync(join(catchall, 'tmp'));
    mkdirSync(join(catchall, 'tmp'));
    lab = await restart(lab, {});
    t.deepEqual(inbox(lab, 'bob'), [], 'nothing reappears after a restart');
    t.regex(send(lab, 'resent'), /^ok \{\}$/);
    t.deepEqual(inbox(lab, 'bob'), ['resent']);
    t.is(files(lab.dataDir, 'catchall').length, 1, 'the captured copy, once');
  } finally {
    await lab.stop();
    lab.cleanup();
  }
});
