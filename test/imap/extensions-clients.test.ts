// Real clients against the IMAP extensions of issue 19, on the real labnet process: imapflow appends
// binary data (it sends a literal8 when the server has BINARY), fetches decoded parts with FETCH
// BINARY and lists with LIST-EXTENDED + LIST-STATUS; Python imaplib parses LIST (SUBSCRIBED
// RECURSIVEMATCH) answers with \NonExistent and CHILDINFO, and an APPEND ... CATENATE. A MULTIAPPEND
// killed with -9 at several moments leaves all of its messages or none.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { plainImapFlow } from '../support/imap-client.js';
import { startLabProcess } from '../support/lab-process.js';
import { run, startMailLab } from './helpers.js';

test('imapflow: APPEND with NUL octets (literal8), FETCH BINARY of the part gives the octets back, LIST-EXTENDED with STATUS', async (t) => {
  const lab = await startMailLab();
  const client = plainImapFlow(lab.port('imap'), 'alice', 'alice-lab');
  const errors: Error[] = [];
  client.on('error', (err: Error) => errors.push(err));
  t.teardown(async () => {
    await client.logout().catch(() => client.close());
    await lab.stop();
    lab.cleanup();
  });
  await client.connect();
  t.true(client.capabilities.has('BINARY') && client.capabilities.has('LIST-EXTENDED') && client.capabilities.has('MULTIAPPEND'));
  const octets = Buffer.from([0, 1, 2, 0x2d, 0xe4, 0, 13, 10, 0xff]);
  const message = Buffer.concat([
    Buffer.from(
      'From: bob@lab.test\r\nSubject: binary\r\nMime-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee part 2\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n',
    ),
    octets,
    Buffer.from('\r\n--b--\r\n'),
  ]);
  const appended = await client.append('INBOX', message, ['\\Seen']);
  t.truthy(appended && appended.uid);
  const lock = await client.getMailboxLock('INBOX');
  try {
    const msg = await client.fetchOne(String(appended && appended.uid), { bodyParts: ['2'] }, { uid: true, binary: true });
    t.truthy(msg);
    t.deepEqual(msg && msg.bodyParts?.get('2'), octets);
    // BODY[2] is what was stored: base64, a plain literal.
    const raw = await client.fetchOne(String(appended && appended.uid), { bodyParts: ['2'] }, { uid: true });
    t.is(raw && raw.bodyParts?.get('2')?.toString('latin1').trim(), octets.toString('base64'));
  } finally {
    lock.release();
  }
  await client.mailboxCreate('Projects.Old');
  const list = await client.list({ statusQuery: { messages: true, unseen: true } });
  const inbox = list.find((m) => m.path === 'INBOX');
  t.is(inbox?.status?.messages, 1);
  t.truthy(list.find((m) => m.path === 'Projects.Old'));
  t.deepEqual(errors, []);
});

const IMAPLIB = String.raw`
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice', 'alice-lab')
M.create('Lists.A')
M.subscribe('Lists.A.Gone')
M.subscribe('Lists.B')
typ, data = M._simple_command('LIST', '(SUBSCRIBED RECURSIVEMATCH)', '""', 'Lists.%')
print(typ, M._untagged_response(typ, data, 'LIST')[1])
typ, data = M._simple_command('LIST', '(SUBSCRIBED)', '""', '(Lists.* Nope)', 'RETURN', '(CHILDREN STATUS (MESSAGES))')
print(typ, M._untagged_response(typ, data, 'LIST')[1])
M.select('INBOX')
typ, data = M.append('Lists.A', None, None, b'Subject: one\r\n\r\nfirst\r\n')
print(typ, data)
typ, data = M._simple_command('APPEND', 'Lists.A', 'CATENATE', '(URL "/Lists.A/;UID=1/;SECTION=HEADER" URL "/Lists.A/;UID=1/;SECTION=TEXT")')
print(typ, M.untagged_responses.pop('APPENDUID', None) or data)
typ, data = M._simple_command('APPEND', 'Lists.A', 'CATENATE', '(URL "/Lists.A/;UID=7")')
print('bad', typ, data)
M.logout()
`;

test('Python imaplib: LIST-EXTENDED answers (\\NonExistent, CHILDINFO, LIST-STATUS) parse; APPEND CATENATE of URLs; BADURL', async (t) => {
  const lab = await startMailLab();
  t.teardown(async () => {
    await lab.stop();
    lab.cleanup();
  });
  const r = await run('python3', ['-c', IMAPLIB, String(lab.port('imap'))], { timeoutMs: 30_000 });
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // Lists.A exists (no folder below it: \\HasNoChildren) and is not subscribed; its subscribed child does not exist.
  t.is(lines[0], `OK [b'(\\\\NonExistent \\\\Subscribed) "." Lists.B', b'(\\\\HasNoChildren) "." Lists.A ("CHILDINFO" ("SUBSCRIBED"))']`);
  t.regex(lines[1], /^OK \[b'\(\\\\NonExistent \\\\Subscribed\) "\." Lists\.A\.Gone', b'\(\\\\NonExistent \\\\Subscribed\) "\." Lists\.B'\]$/);
  t.regex(lines[2], /^OK \[b'\[APPENDUID \d+ 1\] APPEND completed'\]$/);
  t.regex(lines[3], /^OK /);
  t.regex(lines[4], /^bad NO \[b'\[BADURL \/Lists\.A\/;UID=7\] No such message'\]$/);
});

/** One raw IMAP exchange: writes `text`, resolves with everything read once `until` matches (or the socket closes). */
function rawExchange(port: number, text: string, until: RegExp, onWritten?: () => void): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    sock.setEncoding('latin1');
    sock.on('error', () => resolve(buf));
    sock.on('close', () => resolve(buf));
    sock.once('data', () => sock.write(text, () => onWritten?.()));
    sock.on('data', (d: string) => {
      buf += d;
      if (until.test(buf)) {
        sock.destroy();
        resolve(buf);
      }
    });
  });
}

test('MULTIAPPEND and kill -9: after a restart a folder holds all of the messages of one APPEND or none, never some; no staging left behind', async (t) => {
  t.timeout(120_000);
  const start = (dataDir?: string) => startLabProcess({ only: ['imap'], config: { services: { imap: { port: 0 } } }, ...(dataDir ? { dataDir } : {}) });
  let lab = await start();
  const dataDir = lab.dataDir;
  t.teardown(async () => {
    await lab.stop().catch(() => undefined);
    lab.cleanup();
  });
  const N = 12;
  const count = async (port: number): Promise<number> => {
    const r = await rawExchange(port, 'a LOGIN alice alice-lab\r\nb STATUS INBOX (MESSAGES)\r\nc LOGOUT\r\n', /^c OK/m);
    return Number(/MESSAGES (\d+)/.exec(r)?.[1] ?? NaN);
  };
  // Kill at several moments: while the command is still arriving, while staging, while committing.
  for (const [round, delayMs] of [0, 40, 150, 400, 3000].entries()) {
    const port = lab.port('imap');
    const before = await count(port);
    const parts = Array.from({ length: N }, (_, i) => {
      const m = `Subject: r${round} m${i}\r\n\r\n${'x'.repeat(40_000)}\r\n`;
      return `{${m.length}+}\r\n${m}`;
    });
    const reply = rawExchange(port, `a LOGIN alice alice-lab\r\nb APPEND INBOX ${parts.join(' ')}\r\n`, /^b (OK|NO|BAD)/m, () => {
      setTimeout(() => void lab.kill(), delayMs);
    });
    const text = await reply;
    const acked = /^b OK/m.test(text);
    await lab.kill();
    lab = await start(dataDir);
    const after = await count(lab.port('imap'));
    t.true(after - before === 0 || after - before === N, `round ${round}: ${after - before} of ${N} messages visible`);
    if (acked) t.is(after - before, N, `round ${round}: acknowledged, so all are there`);
    t.deepEqual(
      readdirSync(join(dataDir, 'mail')).filter((n) => n.startsWith('.deleted-')),
      [],
    );
    t.log(`round ${round} (kill ${delayMs} ms after the last byte): ${after - before} of ${N} visible, acknowledged: ${acked}`);
  }
});
