// The npm imapflow client against the real labnet process: listing, fetch with envelope,
// bodyStructure and source, flag changes, move, and IDLE pushing a new message sent over SMTP.
import test from 'ava';
import { ImapFlow } from 'imapflow';
import { startLabProcess } from '../support/lab-process.js';
import { sendMail, startMailLab } from './helpers.js';
import { plainImapFlow } from '../support/imap-client.js';

test('imapflow: list, fetch (envelope, bodyStructure, source), flags, move, IDLE', async (t) => {
  const lab = await startMailLab();
  const clients: ImapFlow[] = [];
  t.teardown(async () => {
    for (const c of clients) await c.logout().catch(() => c.close());
    await lab.stop();
    lab.cleanup();
  });
  await sendMail(lab, [
    { to: 'alice@lab.test', subject: 'Plain one', text: 'first body', messageId: '<one@lab.test>' },
    {
      to: 'Alice <alice@lab.test>',
      from: '"Carol C." <carol@lab.test>',
      subject: 'Größe und Gewicht',
      text: 'see attachment',
      html: '<p>see attachment</p>',
      attachments: [{ filename: 'data.csv', content: 'a,b\n1,2\n', contentType: 'text/csv' }],
    },
  ]);
  const client = plainImapFlow(lab.port('imap'), 'alice', 'alice-lab');
  clients.push(client);
  // imapflow reports socket trouble as 'error' events; an unhandled one would crash the worker.
  const errors: Error[] = [];
  client.on('error', (err: Error) => errors.push(err));
  await client.connect();

  const list = await client.list();
  const byPath = new Map(list.map((m) => [m.path, m]));
  t.deepEqual([...byPath.keys()].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
  t.is(byPath.get('Sent')!.specialUse, '\\Sent');
  t.is(byPath.get('Trash')!.specialUse, '\\Trash');
  t.is(byPath.get('INBOX')!.specialUse, '\\Inbox');
  t.is(byPath.get('Drafts')!.delimiter, '.');

  const box = await client.mailboxOpen('INBOX');
  t.is(box.exists, 2);
  const msgs = [];
  for await (const m of client.fetch('1:*', { uid: true, envelope: true, bodyStructure: true, source: true, flags: true, size: true })) msgs.push(m);
  t.is(msgs.length, 2);
  const [one, two] = msgs as [(typeof msgs)[0], (typeof msgs)[0]];
  t.is(one.envelope!.subject, 'Plain one');
  t.is(one.envelope!.messageId, '<one@lab.test>');
  t.deepEqual(one.envelope!.to, [{ name: '', address: 'alice@lab.test' }]);
  t.is(two.envelope!.subject, 'Größe und Gewicht', 'imapflow decodes the encoded words we pass through');
  t.deepEqual(two.envelope!.from, [{ name: 'Carol C.', address: 'carol@lab.test' }]);
  t.is(two.bodyStructure!.type, 'multipart/mixed');
  const kids = two.bodyStructure!.childNodes!;
  t.is(kids[0].type, 'multipart/alternative');
  t.deepEqual(
    kids[0].childNodes!.map((c) => c.type),
    ['text/plain', 'text/html'],
  );
  t.is(kids[1].type, 'text/csv');
  t.is(kids[1].disposition, 'attachment');
  t.is(kids[1].dispositionParameters!.filename, 'data.csv');
  t.is(kids[1].part, '2');
  t.true(one.source!.toString().includes('first body'));
  t.is(one.size, one.source!.length);
  t.true(one.flags!.has('\\Recent') || one.flags!.size === 0);

  const part = await client.download('2', '2', { uid: false });
  const chunks: Buffer[] = [];
  for await (const c of part.content!) chunks.push(c as Buffer);
  t.is(Buffer.concat(chunks).toString(), 'a,b\n1,2\n', 'attachment decoded by imapflow from BODY[2]');

  t.true(await client.messageFlagsAdd('1', ['\\Flagged', 'Important']));
  t.true(await client.messageFlagsRemove('1', ['Important']));
  const after = await client.fetchOne('1', { flags: true });
  t.true(after && after.flags!.has('\\Flagged'));
  t.false(after && after.flags!.has('Important'));
  t.deepEqual(await client.search({ flagged: true }), [1]);

  const moved = await client.messageMove('1', 'Archive');
  t.truthy(moved);
  t.is(moved && moved.uidMap!.size, 1);
  t.is(client.mailbox && client.mailbox.exists, 1);
  const st = await client.status('Archive', { messages: true, uidNext: true });
  t.is(st && st.messages, 1);

  // APPEND of a 2 MB message (a literal) and the same octets back.
  const big = Buffer.concat([Buffer.from('From: alice@lab.test\r\nSubject: big\r\n\r\n'), Buffer.alloc(2 * 1024 * 1024, 'abcdefghij\r\n')]);
  const appended = await client.append('Drafts', big, ['\\Draft']);
  t.truthy(appended && appended.uid, 'APPENDUID');
  await client.mailboxOpen('Drafts');
  const back = await client.fetchOne(String(appended && appended.uid), { source: true }, { uid: true });
  t.truthy(back);
  t.true(back && back.source!.equals(big), 'byte for byte');
  await client.mailboxOpen('INBOX');

  // IDLE: imapflow idles by itself when nothing else runs; a delivery must reach it as 'exists'.
  const gotExists = new Promise<number>((resolve) => client.on('exists', (d: { count: number }) => resolve(d.count)));
  // A delivery before the IDLE starts is reported when it starts, so nothing needs to wait here.
  const idling = client.idle();
  await sendMail(lab, [{ to: 'alice@lab.test', subject: 'while idle', text: 'pushed' }]);
  const count = await Promise.race([gotExists, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no EXISTS within 10 s')), 10_000))]);
  t.is(count, 2);
  await client.noop();
  await idling.catch(() => undefined);
  t.deepEqual(errors, [], 'no client-side errors');
});

test('tls.offerStartTls false: imapflow with its defaults logs in over plain text; while STARTTLS is offered its defaults fail on the lab certificate', async (t) => {
  const offeredLab = await startMailLab();
  const plainLab = await startLabProcess({
    only: ['imap'],
    config: { tls: { offerStartTls: false }, services: { imap: { port: 0, imapsPort: 0 } } },
  });
  t.teardown(async () => {
    for (const l of [offeredLab, plainLab]) {
      await l.stop();
      l.cleanup();
    }
  });
  const connect = async (port: number): Promise<ImapFlow> => {
    const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: 'alice', pass: 'alice-lab' }, logger: false });
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  await t.throwsAsync(connect(offeredLab.port('imap')), { message: /unable to verify the first certificate|self[- ]signed|certificate/ });
  const client = await connect(plainLab.port('imap'));
  t.false(client.capabilities.has('STARTTLS'));
  t.true(client.authenticated !== false);
  const box = await client.mailboxOpen('INBOX');
  t.is(box.path, 'INBOX');
  await client.logout();
});
