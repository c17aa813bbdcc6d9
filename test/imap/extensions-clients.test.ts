// Real clients against the IMAP extensions of issue 19, on the real labnet process: imapflow appends
// binary data (it sends a literal8 when the server has BINARY), fetches decoded parts with FETCH
// BINARY and lists with LIST-EXTENDED + LIST-STATUS; Python imaplib parses LIST (SUBSCRIBED
// RECURSIVEMATCH) answers with \NonExistent and CHILDINFO, and an APPEND ... CATENATE.
import test from 'ava';
import { ImapFlow } from 'imapflow';
import { run, startMailLab } from './helpers.js';

test('imapflow: APPEND with NUL octets (literal8), FETCH BINARY of the part gives the octets back, LIST-EXTENDED with STATUS', async (t) => {
  const lab = await startMailLab();
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: lab.port('imap'),
    secure: false,
    doSTARTTLS: false,
    auth: { user: 'alice', pass: 'alice-lab' },
    logger: false,
  });
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
