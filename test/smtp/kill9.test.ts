// kill -9 during a burst of deliveries: every message acknowledged with 250 is on disk afterwards,
// no file in new/ or cur/ is a partial message, and the restarted store recovers (tmp/ cleaned,
// every message gets a UID).
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLabProcess } from '../support/lab-process.js';
import { maildirMessages, RawSmtp, startSmtpLab } from './helpers.js';

test('every acknowledged message survives kill -9 in the middle of a burst', async (t) => {
  const lab = await startSmtpLab();
  const port = lab.port('smtp');
  const acked: string[] = [];
  let stop = false;
  const filler = `${'x'.repeat(76)}\r\n`.repeat(200); // ~15 KB per message
  const client = async (n: number): Promise<void> => {
    const c = await RawSmtp.open(port);
    try {
      if (!(await c.reply())?.startsWith('220')) return;
      if (!(await c.cmd(`EHLO burst${n}.test`))?.startsWith('250')) return;
      for (let i = 0; i < 10_000 && !stop; i++) {
        const id = `k9-${n}-${i}`;
        c.write(`MAIL FROM:<burst@outside.test>\r\nRCPT TO:<alice@lab.test>\r\nDATA\r\n`);
        if (!(await c.reply(5000))?.startsWith('250') || !(await c.reply(5000))?.startsWith('250') || !(await c.reply(5000))?.startsWith('354')) return;
        c.write(`Subject: ${id}\r\n\r\n${filler}END-${id}\r\n.\r\n`);
        const r = await c.reply(5000);
        if (!r?.startsWith('250 2.0.0 Ok: queued')) return;
        acked.push(id);
      }
    } catch {
      // the server died under us: expected
    } finally {
      c.socket.destroy();
    }
  };
  const clients = Array.from({ length: 8 }, (_, n) => client(n));
  const deadline = Date.now() + 20_000;
  while (acked.length < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await lab.kill(); // SIGKILL while the clients are still sending
  stop = true;
  await Promise.all(clients);
  const ackedAtKill = [...acked];
  t.true(ackedAtKill.length >= 50, `only ${ackedAtKill.length} acknowledged before the kill`);

  const stored = maildirMessages(lab.dataDir, 'alice').map((m) => m.toString());
  const ids = new Set<string>();
  for (const m of stored) {
    const id = /^Subject: (k9-\d+-\d+)\r$/m.exec(m)?.[1];
    t.truthy(id, 'a stored file without its subject');
    t.true(m.endsWith(`${filler}END-${id}\r\n`), `partial message visible: ${id}`);
    ids.add(id!);
  }
  const lost = ackedAtKill.filter((id) => !ids.has(id));
  t.deepEqual(lost, [], 'acknowledged messages lost');

  // Restart on the same data: recovery cleans tmp/ and gives every message a UID.
  const again = await startLabProcess({ dataDir: lab.dataDir, only: ['smtp'], config: { services: { smtp: { port: 0, submissionPort: 0 } } } });
  try {
    const inbox = join(lab.dataDir, 'mail', 'alice');
    t.deepEqual(readdirSync(join(inbox, 'tmp')), []);
    const uidlist = readFileSync(join(inbox, 'dovecot-uidlist'), 'utf8');
    const listed = new Set(
      uidlist
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.slice(l.indexOf(' :') + 2)),
    );
    for (const sub of ['new', 'cur']) {
      if (!existsSync(join(inbox, sub))) continue;
      for (const f of readdirSync(join(inbox, sub))) t.true(listed.has(f.split(':2,')[0]), `no UID for ${f}`);
    }
    t.is(listed.size, stored.length);
  } finally {
    await again.stop();
    again.cleanup();
  }
});
