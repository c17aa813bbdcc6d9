// kill -9 of a process delivering in concurrent bursts (the grouped path: deliveries that finish
// their file syncs together share one directory fsync, on one descriptor kept open for the burst,
// and one uid-list append): every delivery that resolved is complete in new/ or cur/, no partial
// file is visible, and a restart gives every stored message a UID and leaves tmp/ empty; each resolved
// delivery was visible with its UID when `deliver` resolved and keeps that UID after the restart. Run with the
// delivery files written by the worker thread (the default) and on the event loop (deliveryWriter: inline).
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MailStore } from '../../core/mail-store/index.js';
import { killAfterAcks } from './fixtures/kill-after-acks.js';

const here = dirname(fileURLToPath(import.meta.url));

for (const mode of ['worker', 'inline'] as const) {
  test(`a process killed with SIGKILL during grouped deliveries (delivery writer ${mode}): every resolved delivery is stored whole and gets a UID after restart`, async (t) => {
    const base = mkdtempSync(join(tmpdir(), 'labnet-delivery-crash-'));
    t.teardown(() => rmSync(base, { recursive: true, force: true }));
    const root = join(base, 'mail');
    const logPath = join(base, 'acks.log');
    writeFileSync(logPath, '');
    t.is(await killAfterAcks(join(here, 'fixtures', 'delivery-worker.js'), [root, logPath, mode], 300), 'SIGKILL');
    const ackLines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
    const acked = ackLines.map((l) => l.split(' ')[0]);
    const uidAtAck = new Map(ackLines.map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
    t.deepEqual(
      acked.filter((tag) => !(uidAtAck.get(tag)! > 0)),
      [],
      'deliveries not visible with a UID when deliver resolved',
    );
    t.true(acked.length >= 300, `only ${acked.length} acknowledged`);

    const inbox = join(root, 'alice');
    const stored = new Map<string, string>();
    for (const sub of ['new', 'cur']) {
      if (!existsSync(join(inbox, sub))) continue;
      for (const f of readdirSync(join(inbox, sub))) {
        const text = readFileSync(join(inbox, sub, f), 'latin1');
        const tag = /^Subject: (d-\d+-\d+)\r\n/.exec(text)?.[1];
        t.truthy(tag, `a stored file without its subject: ${f}`);
        t.true(text.endsWith(`END-${tag}\r\n`), `partial message visible: ${tag}`);
        stored.set(tag!, f);
      }
    }
    t.deepEqual(
      acked.filter((tag) => !stored.has(tag)),
      [],
      'resolved deliveries lost',
    );

    const s = new MailStore({ root });
    await s.start();
    const snap = await s.open('alice', 'INBOX');
    t.is(snap.messages.length, stored.size);
    t.is(new Set(snap.messages.map((m) => m.uid)).size, stored.size);
    // Every acknowledged message keeps the UID it was visible with before the kill.
    const uidByName = new Map(snap.messages.map((m) => [m.uniqueName, m.uid]));
    t.deepEqual(
      acked.filter((tag) => uidByName.get(stored.get(tag)!.split(':2,')[0]) !== uidAtAck.get(tag)),
      [],
      'UIDs changed by the restart',
    );
    t.deepEqual(readdirSync(join(inbox, 'tmp')), []);
    await s.stop();
  });
}
