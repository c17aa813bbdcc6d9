// In-process SMTP sessions over real TCP (startLabnet on port 0): any chunking of a pipelined
// session gives the same stored messages (DATA and BDAT), and the event stream shows the dialogue
// with AUTH payloads redacted.
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import { type LabnetHandle } from '../../core/host.js';
import type { ProtocolEvent } from '../../core/events.js';
import type { MailStore } from '../../core/mail-store/index.js';
import { TOKENS } from '../../core/tokens.js';
import { floodWithoutReading, silentClient } from '../core/line-flood.js';
import { maildirMessages, stripTrace } from './helpers.js';

let lab: LabnetHandle;
let dataDir: string;

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'labnet-smtp-session-'));
  lab = await startLabnet({
    dataDir,
    logLevel: 'silent',
    only: ['smtp'],
    config: { listen: '127.0.0.1', services: { smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } } },
  });
});

test.after.always(async () => {
  await lab?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Writes `parts` one by one (each its own write, a pause between), returns everything the server said. */
function converse(port: number, parts: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.once('data', () => {
      void (async () => {
        for (const p of parts) {
          if (p.length > 0) s.write(p);
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
    });
  });
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

let run = 0;

test.serial('any chunking of a pipelined DATA + BDAT session stores the same messages', async (t) => {
  const line = fc.stringMatching(/^[a-z. ]{0,15}$/);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(line, { maxLength: 6 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.nat(3),
      async (messages, cuts, bdatSplit) => {
        run++;
        const user = 'carol';
        let wire = 'EHLO chunky.test\r\n';
        const expected: string[] = [];
        messages.forEach((lines, i) => {
          const body = `Subject: run ${run} msg ${i}\r\n\r\n${lines.map((l) => `${l}\r\n`).join('')}`;
          expected.push(body);
          wire += `MAIL FROM:<p@outside.test>\r\nRCPT TO:<carol@lab.test>\r\n`;
          if (i % 2 === 0) {
            wire += `DATA\r\n${body
              .split('\r\n')
              .slice(0, -1)
              .map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`)
              .join('')}.\r\n`;
          } else {
            const cut = Math.min(bdatSplit * 7, body.length);
            const a = body.slice(0, cut);
            const b = body.slice(cut);
            if (a.length > 0) wire += `BDAT ${Buffer.byteLength(a)}\r\n${a}`;
            wire += `BDAT ${Buffer.byteLength(b)} LAST\r\n${b}`;
          }
        });
        wire += 'QUIT\r\n';
        const replies = await converse(lab.port('smtp'), split(Buffer.from(wire), cuts));
        const queued = replies.match(/^250 2\.0\.0 Ok: queued as/gm) ?? [];
        if (queued.length !== messages.length || !replies.endsWith('221 2.0.0 Bye\r\n')) {
          t.log(replies);
          return false;
        }
        const stored = maildirMessages(dataDir, user)
          .map((m) => stripTrace(m).toString())
          .filter((m) => m.startsWith(`Subject: run ${run} `));
        return stored.length === expected.length && expected.every((e) => stored.includes(e));
      },
    ),
    { numRuns: 25 },
  );
  t.pass();
});

test.serial('events show the dialogue; AUTH payloads and passwords never appear', async (t) => {
  const events: ProtocolEvent[] = [];
  const sub = lab.events.subscribe((e) => events.push(e));
  const plain = Buffer.from('\u0000alice\u0000alice-lab').toString('base64');
  const user = Buffer.from('bob').toString('base64');
  const pass = Buffer.from('bob-lab').toString('base64');
  const wire = `EHLO ev.test\r\nAUTH PLAIN ${plain}\r\nQUIT\r\n`;
  await converse(lab.port('smtp', 'submission'), [Buffer.from(wire)]);
  const c2 = `EHLO ev.test\r\nAUTH LOGIN\r\n${user}\r\n${pass}\r\nQUIT\r\n`;
  await converse(lab.port('smtp', 'submission'), [Buffer.from(c2)]);
  const c3 = `EHLO ev.test\r\nAUTH PLAIN ${Buffer.from('\u0000carol\u0000wrong-secret').toString('base64')}\r\nQUIT\r\n`;
  await converse(lab.port('smtp', 'submission'), [Buffer.from(c3)]);
  await lab.events.settled();
  sub.unsubscribe();
  const text = JSON.stringify(events);
  t.false(text.includes(plain));
  t.false(text.includes(pass));
  t.false(text.includes('alice-lab'));
  t.false(text.includes('bob-lab'));
  t.false(text.includes('wrong-secret'));
  const auths = events.filter((e) => e.type === 'auth').map((e) => [e.user, e.ok, e.mechanism]);
  t.deepEqual(auths, [
    ['alice', true, 'PLAIN'],
    ['bob', true, 'LOGIN'],
    ['carol', false, 'PLAIN'],
  ]);
  const commands = events.filter((e) => e.type === 'command').map((e) => (e as { text: string }).text);
  t.true(commands.includes('AUTH PLAIN <redacted>'));
  t.true(commands.includes('AUTH LOGIN'));
  t.true(commands.filter((c) => c === '<redacted>').length >= 2);
  const replies = events.filter((e) => e.type === 'reply').map((e) => (e as { text: string }).text);
  t.true(replies.includes('235 2.7.0 Authentication successful'));
  t.true(events.some((e) => e.type === 'session.open' && e.service === 'smtp'));
});

test.serial('the mail store is bound lazily under TOKENS.MailStore and sees SMTP deliveries', async (t) => {
  const store = lab.get<MailStore>(TOKENS.MailStore);
  const before = (await store.open('alice', 'INBOX')).messages.length;
  const seen: string[] = [];
  const off = store.watch('alice', 'INBOX', (c) => seen.push(c.kind));
  await converse(lab.port('smtp'), [Buffer.from('HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<ALICE@lab.test>\r\nDATA\r\nSubject: watched\r\n\r\nhi\r\n.\r\nQUIT\r\n')]);
  const snap = await store.open('alice', 'INBOX');
  off();
  t.is(snap.messages.length, before + 1);
  t.is(snap.messages[snap.messages.length - 1].headers.subject, 'watched');
  t.deepEqual(seen, ['exists']);
});

test.serial('replies are not held back while a partial next line is buffered', async (t) => {
  const out = await new Promise<string>((resolve) => {
    const s = connect(lab.port('smtp'), '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('250 2.0.0 Ok\r\n')) {
        s.destroy();
        resolve(text);
      }
    });
    s.once('data', () => s.write('NOOP\r\nNO'));
    setTimeout(() => {
      s.destroy();
      resolve(text);
    }, 10_000);
  });
  t.is(out, '220 labnet.lab.test ESMTP labnet\r\n250 2.0.0 Ok\r\n');
});

test.serial('a client that pipelines HELP without reading is not answered into memory without bound', async (t) => {
  const bytesOut = (): number => lab.status().find((s) => s.name === 'smtp')!.bytesOut!;
  const before = bytesOut();
  const client = await silentClient(lab.port('smtp'));
  // 3 MB of commands asking for 95 MB of replies (190 octets each).
  const result = await floodWithoutReading(client, Buffer.from('HELP\r\n'.repeat(500_000)), bytesOut, before + 32 * 1024 * 1024);
  client.destroy();
  // What the sessions handed to their sockets, buffered or not, stays within the kernel's socket
  // buffers plus one batch of replies instead of growing with the commands.
  t.log(`server output stopped at ${result.bytesOut - before} octets`);
  t.false(result.unbounded, `the server wrote ${result.bytesOut - before} octets for a client that reads nothing`);
  t.true(result.bytesOut - before < 32 * 1024 * 1024);
});

test('shutdown: an idle session gets 421 4.3.2 before the connection closes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-smtp-shutdown-'));
  const own = await startLabnet({
    dataDir: dir,
    logLevel: 'silent',
    only: ['smtp'],
    config: { listen: '127.0.0.1', services: { smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } } },
  });
  try {
    const text = await new Promise<string>((resolve) => {
      const s = connect(own.port('smtp'), '127.0.0.1');
      let out = '';
      s.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('250 ')) void own.stop();
      });
      s.once('data', () => s.write('HELO me\r\n'));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    t.is(text, '220 labnet.lab.test ESMTP labnet\r\n250 labnet.lab.test\r\n421 4.3.2 labnet.lab.test Service shutting down\r\n');
  } finally {
    await own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
