// SORT (RFC 5256), SORT=DISPLAY (RFC 5957), ESEARCH (RFC 4731) and ESORT (RFC 5267): the base subject
// and criteria as units (with property tests), transcripts over an in-memory pair, and Python's
// imaplib sort() against the real labnet process on mail sent with nodemailer.
import test from 'ava';
import fc from 'fast-check';
import { join } from 'node:path';
import { TlsPolicy } from '../../core/line-session/index.js';
import { imapCommandTable } from '../../services/imap/commands/registry.js';
import { formatSet } from '../../services/imap/sequence-set.js';
import { ImapSession } from '../../services/imap/imap-session.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { baseSubject, parseSortCriteria, type SortInput } from '../../services/imap/sort.js';
import { referencesThreads } from '../../services/imap/thread.js';
import { MailStoreAdapter } from '../../services/imap/store-adapter.js';
import { closeMailFixtures, mailFixture, transcriptLab, type TranscriptClient } from '../core/line-transcript.js';
import { exchange, imapSessions } from './transcript-lab.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { run, sendMail, startMailLab } from './helpers.js';

test.after.always(closeMailFixtures);

test('base subject (RFC 5256 2.1): leaders, blobs, (fwd) trailers and [fwd: ] wrappers go', (t) => {
  t.is(baseSubject('Re: RE: Fwd: hello'), 'HELLO');
  t.is(baseSubject('[list] Re: [x] hello (fwd)'), 'HELLO');
  t.is(baseSubject('[Fwd: re: hello  world]'), 'HELLO WORLD');
  t.is(baseSubject('[only a blob]'), '[ONLY A BLOB]');
  t.is(baseSubject('=?utf-8?q?Re=3A_Gr=C3=BC=C3=9Fe?='), 'GRÜSSE');
  t.is(baseSubject(undefined), '');
});

test('property: the base subject is a fixed point and never throws', (t) => {
  const piece = fc.constantFrom('Re:', 're: ', 'Fwd:', 'fw:', '[a]', '[', ']', '(fwd)', ' ', 'x', '[fwd:', 'hello', '\t');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (ps) => {
      const b = baseSubject(ps.join(''));
      return baseSubject(b) === b;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('sort criteria: REVERSE binds to the next key; unknown keys and a dangling REVERSE are BAD', (t) => {
  t.deepEqual(parseSortCriteria(['REVERSE', 'date', 'subject']), [
    { key: 'DATE', reverse: true },
    { key: 'SUBJECT', reverse: false },
  ]);
  for (const bad of [[], ['REVERSE'], ['FOO'], ['REVERSE', 'REVERSE', 'DATE'], Array(40).fill('DATE')]) t.throws(() => parseSortCriteria(bad));
});

test('property: a compacted set lists exactly the numbers, in order', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 40 }), (nums) => {
      const expanded = formatSet(nums)
        .split(',')
        .filter((x) => x.length > 0)
        .flatMap((r) => {
          const [a, b] = r.split(':').map(Number);
          return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
        });
      return JSON.stringify(expanded) === JSON.stringify(nums);
    }),
  );
  t.pass();
});

const MSGS = [
  'From: Zed <z@lab.test>\r\nTo: b@lab.test\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nSubject: Re: banana\r\n\r\n1\r\n',
  `From: amy@lab.test\r\nTo: Carl <a@lab.test>\r\nDate: Sun, 31 Dec 2023 10:00:00 +0000\r\nSubject: apple\r\n\r\n${'2'.repeat(200)}\r\n`,
  `From: Bob <bob@lab.test>\r\nTo: z@lab.test\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\nSubject: [list] cherry\r\n\r\n${'3'.repeat(100)}\r\n`,
];

async function session(): Promise<TranscriptClient> {
  const { store, accounts } = await mailFixture(MSGS);
  const lab = imapSessions(store, accounts);
  const { client } = lab.open();
  await client.line();
  client.write('l LOGIN alice alice-lab\r\ns SELECT INBOX\r\n');
  while (!(await client.line())!.startsWith('s OK'));
  return client;
}

test('SORT by each key, REVERSE, with search keys; ESEARCH and ESORT RETURN options', async (t) => {
  const c = await session();
  const sortOf = async (q: string): Promise<string> => (await exchange(c, 'q', q))[0];
  t.is(await sortOf('SORT (SUBJECT) UTF-8 ALL'), '* SORT 2 1 3');
  t.is(await sortOf('SORT (REVERSE SUBJECT) UTF-8 ALL'), '* SORT 3 1 2');
  t.is(await sortOf('SORT (DATE) US-ASCII ALL'), '* SORT 2 1 3');
  t.is(await sortOf('SORT (SIZE) UTF-8 ALL'), '* SORT 1 3 2');
  t.is(await sortOf('SORT (FROM) UTF-8 ALL'), '* SORT 2 3 1');
  t.is(await sortOf('SORT (DISPLAYFROM) UTF-8 ALL'), '* SORT 2 3 1');
  t.is(await sortOf('SORT (TO) UTF-8 ALL'), '* SORT 2 1 3');
  t.is(await sortOf('SORT (DISPLAYTO) UTF-8 ALL'), '* SORT 1 2 3', 'b@lab.test < Carl < z@lab.test');
  t.is(await sortOf('SORT (ARRIVAL) UTF-8 NOT 2'), '* SORT 1 3');
  t.is(await sortOf('UID SORT (SUBJECT) UTF-8 SUBJECT nothing'), '* SORT');
  t.deepEqual(await exchange(c, 'e', 'SEARCH RETURN (MIN MAX COUNT ALL) 1:3'), ['* ESEARCH (TAG "e") MIN 1 MAX 3 ALL 1:3 COUNT 3', 'e OK SEARCH completed']);
  t.is((await exchange(c, 'f', 'SEARCH RETURN () NOT 2'))[0], '* ESEARCH (TAG "f") ALL 1,3');
  t.is((await exchange(c, 'g', 'UID SEARCH RETURN (COUNT) SUBJECT nothing'))[0], '* ESEARCH (TAG "g") UID COUNT 0');
  t.is((await exchange(c, 'h', 'SORT RETURN (MIN MAX ALL) (SUBJECT) UTF-8 ALL'))[0], '* ESEARCH (TAG "h") MIN 2 MAX 3 ALL 2,1,3');
  t.regex((await exchange(c, 'i', 'SORT (SUBJECT) KOI8-R ALL'))[0], /^i NO \[BADCHARSET/);
  t.regex((await exchange(c, 'j', 'SORT (REVERSE) UTF-8 ALL'))[0], /^j BAD/);
  t.regex((await exchange(c, 'k', 'SEARCH RETURN (FOO) ALL'))[0], /^k BAD/);
  t.regex((await exchange(c, 'l', 'NOOP'))[0], /^l OK/);
});

test('THREAD=ORDEREDSUBJECT: grouped by base subject, parents and children by date; other algorithms are BAD', async (t) => {
  const { store, accounts } = await mailFixture([
    'Subject: b\r\nDate: Fri, 22 Feb 2008 22:00:10 +0200\r\n\r\n1\r\n',
    'Subject: a\r\nDate: Fri, 22 Feb 2008 22:00:09 +0200\r\n\r\n2\r\n',
    'Subject: Re: b\r\nDate: Fri, 22 Feb 2008 22:00:08 +0200\r\n\r\n3\r\n',
    'Subject: [x] b\r\nDate: Fri, 22 Feb 2008 22:00:11 +0200\r\n\r\n4\r\n',
    'Subject: Fwd: a\r\nDate: Fri, 22 Feb 2008 22:00:12 +0200\r\n\r\n5\r\n',
    'Subject: c\r\nDate: Fri, 22 Feb 2008 22:00:13 +0200\r\n\r\n6\r\n',
  ]);
  const shared = {
    store: new MailStoreAdapter(store),
    accounts,
    hostname: 'labnet.lab.test',
    config: { appendLimit: 100_000, maxSessionsPerUser: 10, autologoutMs: 60_000, preAuthTimeoutMs: 60_000 },
    commands: imapCommandTable(),
    sessionsPerUser: new Map<string, number>(),
    tls: TlsPolicy.none(),
  };
  const c = transcriptLab('imap', IMAP_LIMITS.maxLineLength, (conn, events) => new ImapSession(conn, { ...shared, events })).open().client;
  await c.line();
  await exchange(c, 'l', 'LOGIN alice alice-lab');
  await exchange(c, 's', 'SELECT INBOX');
  t.deepEqual(await exchange(c, 't', 'THREAD ORDEREDSUBJECT UTF-8 ALL'), ['* THREAD (3 (1)(4))(2 5)(6)', 't OK THREAD completed']);
  t.is((await exchange(c, 'u', 'UID THREAD ORDEREDSUBJECT US-ASCII NOT 6'))[0], '* THREAD (3 (1)(4))(2 5)');
  t.is((await exchange(c, 'v', 'THREAD ORDEREDSUBJECT UTF-8 SUBJECT nothing'))[0], '* THREAD');
  t.regex((await exchange(c, 'w', 'THREAD FOO UTF-8 ALL'))[0], /^w BAD/);
});

const input = (seq: number, h: Record<string, string>): SortInput => ({ seq, size: 1, internalDate: seq * 1000, header: (f) => h[f] });

test('THREAD=REFERENCES: links by References, breaks loops, groups by subject (imaptest thread, thread6 cases)', (t) => {
  // imaptest "thread": 2 references a then c, 3 references b: the a-c link is broken, 3 is the
  // parent of 2, 1 stands alone (threads by date: 1 is the oldest here).
  const three = [
    input(1, { 'message-id': '<a@b>' }),
    input(2, { 'message-id': '<b@b>', references: '<a@b> <c@b>' }),
    input(3, { 'message-id': '<c@b>', references: '<b@b>' }),
  ];
  t.is(
    referencesThreads(three, (m) => m.seq),
    '(1)(3 2)',
  );
  t.is(
    referencesThreads(
      [input(1, { 'message-id': '<x@y>', subject: 'hi' }), input(2, { 'in-reply-to': '<x@y>', subject: 'Re: hi' }), input(3, { references: '<x@y>' })],
      (m) => m.seq,
    ),
    '(1 (2)(3))',
  );
  // Two roots with one subject and no replies between them: a dummy holds both.
  t.is(
    referencesThreads([input(1, { subject: 'same' }), input(2, { subject: 'same' })], (m) => m.seq),
    '((1)(2))',
  );
});

test('property: THREAD=REFERENCES names every message exactly once and never throws, on random reference graphs', (t) => {
  const id = fc.integer({ min: 0, max: 12 }).map((n) => `<m${n}@x>`);
  const msg = fc.record({ mid: fc.option(id), refs: fc.array(id, { maxLength: 5 }), subject: fc.constantFrom('a', 'Re: a', 'b', '', 'Fwd: b') });
  fc.assert(
    fc.property(fc.array(msg, { maxLength: 25 }), (ms) => {
      const inputs = ms.map((m, i) => input(i + 1, { ...(m.mid !== null ? { 'message-id': m.mid } : {}), references: m.refs.join(' '), subject: m.subject }));
      const text = referencesThreads(inputs, (m) => m.seq);
      const nums = (text.match(/\d+/g) ?? []).map(Number).sort((a, b) => a - b);
      return JSON.stringify(nums) === JSON.stringify(inputs.map((m) => m.seq)) && /^(\([^]*\))?$/.test(text);
    }),
    { numRuns: 1000 },
  );
  // A hostile chain of 5,000 replies: answered, no stack exhaustion.
  const chain = Array.from({ length: 5000 }, (_, i) => input(i + 1, { 'message-id': `<c${i}@x>`, references: i > 0 ? `<c${i - 1}@x>` : '' }));
  t.is((referencesThreads(chain, (m) => m.seq).match(/\d+/g) ?? []).length, 5000);
});

test('imaplib sort() against the real process: SORT and UID SORT answers', async (t) => {
  const lab = await startMailLab();
  t.teardown(async () => {
    await lab.stop();
    lab.cleanup();
  });
  await sendMail(lab, [
    { to: 'carol@lab.test', from: 'Zed <zed@lab.test>', subject: 'Re: lab banana', text: 'short' },
    { to: 'carol@lab.test', from: 'amy@lab.test', subject: 'apple', text: 'a much longer body than the others, '.repeat(20) },
    { to: 'carol@lab.test', from: 'Bob <bob@lab.test>', subject: '[course] lab cherry', text: 'medium body text' },
  ]);
  const r = await run('python3', [join(PROJECT_ROOT, 'test', 'imap', 'scripts', 'imaplib_sort.py'), '127.0.0.1', String(lab.port('imap'))], {
    timeoutMs: 60_000,
  });
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stdout, /^subject: 2 1 3$/m);
  t.regex(r.stdout, /^reverse-size: 2 3 1$/m);
  t.regex(r.stdout, /^from: 2 3 1$/m);
  t.regex(r.stdout, /^size: 1 3 2$/m);
  t.regex(r.stdout, /^uid-subject-lab: 1 3$/m);
  t.regex(r.stdout, /^thread: \(1\)\(2\)\(3\)$/m);
  t.regex(r.stdout, /^thread-references: \(1\)\(2\)\(3\)$/m);
});
