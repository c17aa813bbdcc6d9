// imapflow against the real process: it sends ENABLE CONDSTORE UTF8=ACCEPT IMAP4rev2 itself when both
// are advertised, so its IMAP4rev2 paths (ESEARCH for SEARCH, UTF-8 mailbox names, LIST on SELECT)
// run here; Python imaplib's rev1 paths are covered by imaplib.test.ts without ENABLE.
import test from 'ava';
import { sendMail, startMailLab } from './helpers.js';
import { plainImapFlow } from '../support/imap-client.js';

test('imapflow in an IMAP4rev2 + UTF8=ACCEPT session: UTF-8 mailbox names, APPEND, SEARCH (answered ESEARCH), flags', async (t) => {
  const lab = await startMailLab();
  const c = plainImapFlow(lab.port('imap'), 'alice', 'alice-lab');
  c.on('error', () => undefined);
  t.teardown(async () => {
    await c.logout().catch(() => c.close());
    await lab.stop();
    lab.cleanup();
  });
  await sendMail(lab, [
    { to: 'alice@lab.test', subject: 'Grüße aus Köln', text: 'eins' },
    { to: 'alice@lab.test', subject: 'plain', text: 'zwei' },
  ]);
  await c.connect();
  t.true(c.capabilities.has('IMAP4rev2') && c.capabilities.has('UTF8=ACCEPT'));
  // imapflow keeps enabled names in upper case.
  t.true(c.enabled.has('IMAP4REV2'), 'imapflow enabled IMAP4rev2');
  t.true(c.enabled.has('UTF8=ACCEPT'), 'imapflow enabled UTF8=ACCEPT');
  await c.mailboxCreate('Entwürfe & Co');
  const names = (await c.list()).map((m) => m.path);
  t.true(names.includes('Entwürfe & Co'), names.join(', '));
  await c.append('Entwürfe & Co', Buffer.from('From: a@lab.test\r\nSubject: =?UTF-8?Q?Entwurf_=C3=BC?=\r\n\r\nbody\r\n'), ['\\Draft']);
  const st = await c.status('Entwürfe & Co', { messages: true });
  t.is(st ? st.messages : -1, 1);
  const lock = await c.getMailboxLock('INBOX');
  try {
    const all = await c.search({ all: true });
    t.deepEqual(all, [1, 2]);
    const hits = await c.search({ subject: 'köln' }, { uid: true });
    t.is(hits && hits.length, 1);
    await c.messageFlagsAdd({ all: true }, ['\\Seen']);
    t.deepEqual(await c.search({ seen: true }), [1, 2]);
  } finally {
    lock.release();
  }
});
