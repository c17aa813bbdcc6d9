// imapflow's CONDSTORE and QRESYNC paths against the real labnet process (RFC 7162): ENABLE QRESYNC
// at connect, HIGHESTMODSEQ at SELECT, FETCH CHANGEDSINCE with VANISHED, a QRESYNC SELECT after
// another client changed and expunged messages, and VANISHED pushed instead of EXPUNGE.
import test from 'ava';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { sendMail, startMailLab } from './helpers.js';
import { plainImapFlow } from '../support/imap-client.js';

test('imapflow with qresync: HIGHESTMODSEQ, changedSince + VANISHED, a QRESYNC SELECT, VANISHED for another session expunges', async (t) => {
  const lab = await startMailLab();
  const clients: ImapFlow[] = [];
  const client = (extra: Partial<ImapFlowOptions> = {}): ImapFlow => {
    const c = plainImapFlow(lab.port('imap'), 'alice', 'alice-lab', extra);
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  t.teardown(async () => {
    for (const c of clients) await c.logout().catch(() => c.close());
    await lab.stop();
    lab.cleanup();
  });
  await sendMail(
    lab,
    Array.from({ length: 6 }, (_, i) => ({ to: 'alice@lab.test', subject: `message ${i + 1}`, text: `body ${i + 1}` })),
  );

  const a = client({ qresync: true });
  await a.connect();
  t.true(a.capabilities.has('QRESYNC') && a.capabilities.has('CONDSTORE'));
  t.true(a.enabled.has('QRESYNC'));
  const box = await a.mailboxOpen('INBOX');
  t.is(box.exists, 6);
  t.is(typeof box.highestModseq, 'bigint');
  const uidValidity = box.uidValidity;
  const synced = box.highestModseq!;
  const uids: number[] = [];
  for await (const m of a.fetch('1:*', { uid: true, flags: true })) {
    t.is(typeof m.modseq, 'bigint');
    t.true(m.modseq! <= synced);
    uids.push(m.uid);
  }
  t.is(uids.length, 6);
  await a.logout();

  // Another client, without CONDSTORE: flags one message, deletes two.
  const b = client();
  await b.connect();
  await b.mailboxOpen('INBOX');
  await b.messageFlagsAdd(String(uids[1]), ['\\Flagged'], { uid: true });
  await b.messageDelete(`${uids[3]},${uids[4]}`, { uid: true });

  // The first client comes back with what it knew: QRESYNC tells it exactly what changed.
  const c = client({ qresync: true });
  const vanished: number[] = [];
  c.on('expunge', (e: { uid?: number; vanished: boolean; earlier?: boolean }) => {
    if (e.vanished && e.uid !== undefined) vanished.push(e.uid);
  });
  const changed: Array<{ uid: number; flags: string[]; modseq: bigint }> = [];
  c.on('flags', (f: { uid?: number; flags: Set<string>; modseq?: bigint }) => {
    if (f.uid !== undefined) changed.push({ uid: f.uid, flags: [...f.flags], modseq: f.modseq! });
  });
  await c.connect();
  const again = await c.mailboxOpen('INBOX', { uidValidity, changedSince: synced });
  t.true((again as { qresync?: boolean }).qresync === true, 'the QRESYNC SELECT was accepted');
  t.is(again.exists, 4);
  t.true(again.highestModseq! > synced);
  t.deepEqual(
    vanished.sort((x, y) => x - y),
    [uids[3], uids[4]],
  );
  t.deepEqual(
    changed.map((f) => [f.uid, f.flags.includes('\\Flagged')]),
    [[uids[1], true]],
  );

  // FETCH CHANGEDSINCE with VANISHED (imapflow adds it for UID fetches when QRESYNC is on).
  vanished.length = 0;
  const delta: number[] = [];
  for await (const m of c.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: synced })) delta.push(m.uid);
  t.deepEqual(delta, [uids[1]]);
  t.deepEqual(
    vanished.sort((x, y) => x - y),
    [uids[3], uids[4]],
  );

  // Another session expunges while this one is selected: VANISHED, not EXPUNGE.
  vanished.length = 0;
  await b.messageDelete(String(uids[5]), { uid: true });
  await c.noop();
  t.deepEqual(vanished, [uids[5]]);
  t.is(c.mailbox && c.mailbox.exists, 3);
});
