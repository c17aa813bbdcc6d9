// Python's imaplib (a client nobody here wrote) through every command of the issue, against the real
// labnet process, on mail first sent with nodemailer over labnet's SMTP.
import test from 'ava';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { run, sendMail, startMailLab } from './helpers.js';

test('imaplib: every command, literals, SASL-IR, IDLE during an SMTP delivery, UIDPLUS', async (t) => {
  const lab = await startMailLab();
  t.teardown(async () => {
    await lab.stop();
    lab.cleanup();
  });
  await sendMail(lab, [
    { to: 'alice@lab.test', subject: 'First message', text: 'Hello Alice, this is the first one.' },
    { to: 'alice@lab.test', subject: 'Second message', text: 'Viele Grüße aus dem Labor.' },
    {
      to: 'alice@lab.test',
      subject: 'Third message',
      text: 'Attachment follows.',
      attachments: [{ filename: 'notes.txt', content: 'some notes\n' }],
    },
  ]);
  const script = join(PROJECT_ROOT, 'test', 'imap', 'scripts', 'imaplib_client.py');
  const r = await run('python3', [script, '127.0.0.1', String(lab.port('imap')), String(lab.port('smtp'))], { timeoutMs: 90_000 });
  t.log(r.stdout.trim().split('\n').slice(-3).join(' | '));
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const s of [
    'not-authenticated',
    'login-literal',
    'authenticate',
    'mailboxes',
    'fetch-search',
    'store-copy-move-expunge',
    'append-examine-close',
    'concurrent-idle',
    'errors',
  ]) {
    t.true(r.stdout.includes(`ok ${s}\n`), `step ${s}`);
  }
  t.true(r.stdout.trim().endsWith('done'));
});
