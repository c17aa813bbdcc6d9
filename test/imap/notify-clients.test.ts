// NOTIFY (RFC 5465) with a client nobody here wrote: Python's imaplib in two sessions against the
// real labnet process (test/imap/scripts/imaplib_notify.py). One session registers NOTIFY and sends
// nothing; the other APPENDs to another mailbox and to the selected one: the first gets the STATUS
// and the EXISTS with the MessageNew FETCH (UID ENVELOPE) pushed, and imaplib parses them.
import test from 'ava';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { run, startMailLab } from './helpers.js';

test('imaplib: NOTIFY session gets STATUS of another mailbox and MessageNew FETCH in the selected one, pushed and with a NOOP', async (t) => {
  const lab = await startMailLab();
  t.teardown(async () => {
    await lab.stop();
    lab.cleanup();
  });
  const script = join(PROJECT_ROOT, 'test', 'imap', 'scripts', 'imaplib_notify.py');
  const r = await run('python3', [script, '127.0.0.1', String(lab.port('imap'))], { timeoutMs: 60_000 });
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const s of ['notify-set', 'pushed', 'parsed', 'badevent']) t.true(r.stdout.includes(`ok ${s}\n`), `step ${s}`);
  t.true(r.stdout.trim().endsWith('done'));
});
