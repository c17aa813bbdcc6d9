// IMAP compliance and hostile-input regressions found with Dovecot's imaptest and the hostile-classroom
// issue, as transcripts over an in-memory pair: LIST/LSUB patterns (no backtracking, capped; \Noselect
// parents, RFC 3501 sections 6.3.8-9), ENVELOPE's Sender/Reply-To defaults (7.4.2), SEARCH on parsed
// addresses, "[" as an atom character, APPENDLIMIT's exact boundary (RFC 7889), and big literals read
// in pieces. Plus property tests for the LIST pattern matcher and the framer's counted reads.
import test from 'ava';
import fc from 'fast-check';
import { LineFramer } from '../../core/line-framer.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { patternMatcher } from '../../services/imap/list-pattern.js';
import { closeMailFixtures, mailFixture, play, type TranscriptClient } from '../core/line-transcript.js';
import { exchange, imapSessions } from './transcript-lab.js';

async function imap(messages: string[] = [], appendLimit = 100_000) {
  const { store, accounts } = await mailFixture(messages);
  return imapSessions(store, accounts, { appendLimit });
}

/** A logged-in session of alice. */
async function alice(messages: string[] = [], appendLimit?: number): Promise<TranscriptClient> {
  const lab = await imap(messages, appendLimit);
  const { client } = lab.open();
  await client.line();
  client.write('l LOGIN alice alice-lab\r\n');
  while (!(await client.line())!.startsWith('l OK'));
  return client;
}

test.after.always(closeMailFixtures);

// ---- LIST patterns ----

/** The obvious backtracking definition, for small inputs only: the property test's reference. */
function reference(p: string, name: string, d: string): boolean {
  if (p.length === 0) return name.length === 0;
  const c = p[0];
  if (c === '*') return [...Array(name.length + 1).keys()].some((k) => reference(p.slice(1), name.slice(k), d));
  if (c === '%') {
    for (let k = 0; k <= name.length; k++) {
      if (reference(p.slice(1), name.slice(k), d)) return true;
      if (name[k] === d) break;
    }
    return false;
  }
  return name.length > 0 && name[0] === c && reference(p.slice(1), name.slice(1), d);
}

test('LIST patterns: the matcher agrees with the backtracking definition (property)', (t) => {
  const ch = fc.constantFrom('a', 'b', '/', '*', '%');
  const nameCh = fc.constantFrom('a', 'b', '/');
  fc.assert(
    fc.property(fc.array(ch, { maxLength: 8 }), fc.array(nameCh, { maxLength: 10 }), (pa, na) => {
      const p = pa.join('');
      const n = na.join('');
      return patternMatcher(p, '/')(n) === reference(p, n, '/');
    }),
    { numRuns: 3000 },
  );
  t.true(patternMatcher('inbox/%', '/')('INBOX/x'), 'INBOX is case-insensitive');
  t.false(patternMatcher('%', '/')('a/b'));
  t.true(patternMatcher('*', '/')('a/b'));
});

test('LIST "" "<300 stars>!" answers at once; a pattern over the cap is BAD, and the session goes on', async (t) => {
  // Before: the pattern became a backtracking regular expression (35 s of CPU, the lab stalled).
  const m = patternMatcher(`${'*'.repeat(300)}!`, '/');
  t.false(m('x'.repeat(1000)));
  t.true(m(`${'x'.repeat(1000)}!`));
  const c = await alice();
  const r = await exchange(c, 'a', `LIST "" "${'*'.repeat(300)}!"`);
  t.deepEqual(r, ['a OK LIST completed']);
  const b = await exchange(c, 'b', `LIST "" "${'%*'.repeat(IMAP_LIMITS.maxListPattern)}"`);
  t.regex(b[b.length - 1], /^b BAD .*pattern longer than/);
  t.regex((await exchange(c, 'c', 'LIST "" INBOX'))[0], /^\* LIST \(.*\) "\." INBOX$/);
});

test('LIST "%" answers an absent parent with \\Noselect; LSUB answers unsubscribed parents with \\Noselect (RFC 3501 6.3.9)', async (t) => {
  const c = await alice();
  // The imaptest "subscribe" script's set-up.
  for (const [i, n] of ['box.test', 'box.test2.test', 'box.test3.test3'].entries()) t.regex((await exchange(c, `c${i}`, `CREATE ${n}`)).pop()!, /OK/);
  for (const [i, n] of ['box.test', 'box.test2.test', 'box.test3.test3'].entries()) t.regex((await exchange(c, `s${i}`, `SUBSCRIBE ${n}`)).pop()!, /OK/);
  const l = await exchange(c, 'l', 'LSUB "" box.%');
  t.deepEqual(l.slice(0, -1).sort(), ['* LSUB () "." box.test', '* LSUB (\\Noselect) "." box.test2', '* LSUB (\\Noselect) "." box.test3']);
  const star = await exchange(c, 'm', 'LSUB "" *test');
  t.deepEqual(star.slice(0, -1).sort(), ['* LSUB () "." box.test', '* LSUB () "." box.test2.test']);
  await exchange(c, 'u', 'UNSUBSCRIBE box.test2.test');
  const after = await exchange(c, 'n', 'LSUB "" box.%');
  t.false(
    after.some((x) => x.includes('box.test2')),
    'no subscribed child, no \\Noselect parent',
  );
  // LIST: does the store keep "box" itself? Either way, box is listed exactly once.
  const list = await exchange(c, 'p', 'LIST "" %');
  t.is(list.filter((x) => / box$/.test(x)).length, 1);
});

// ---- ENVELOPE ----

test('ENVELOPE: an empty Sender or Reply-To is given the From address (RFC 3501 7.4.2)', async (t) => {
  const msg = 'From: Bob <bob@lab.test>\r\nSender:\r\nReply-To: \r\nTo: alice@lab.test\r\nSubject: s\r\n\r\nhi\r\n';
  const c = await alice([msg]);
  await exchange(c, 's', 'SELECT INBOX');
  const r = await exchange(c, 'f', 'FETCH 1 ENVELOPE');
  const bob = '(("Bob" NIL "bob" "lab.test"))';
  t.true(r[0].includes(`${bob}${' '}${bob} ${bob} ((NIL NIL "alice" "lab.test"))`), r[0]);
});

// ---- SEARCH on addresses ----

const ADDRESSED = [
  'From: user-from@domain.org\r\nTo: user-to@domain.org\r\n\r\nbody\r\n',
  'From: RealFrom <user-from@domain.org>\r\nTo: RealTo <user-to@domain.org>\r\n\r\nbody2\r\n',
  'From: <user-from (comment)@ (comment) domain.org>\r\nTo: <user-to@domain.org>\r\n\r\nbody3\r\n',
  'From: user-from@domain.org (RealFrom)\r\nTo: user-to@domain.org (RealTo)\r\n\r\nbody4\r\n',
  'From: RealFrom <user-from@domain.org>\r\nTo: groupname: groupuser1@domain.org, groupuser2@domain.org;,\r\n  groupname2: groupuser3@domain.org;\r\n\r\nbody5\r\n',
  'From: =?utf-8?q?J=C3=BCrgen?= <j@domain.org>\r\n\r\nbody6\r\n',
];

test('SEARCH FROM/TO match the parsed address and display name, not the raw header', async (t) => {
  const c = await alice(ADDRESSED);
  await exchange(c, 's', 'SELECT INBOX');
  const search = async (q: string): Promise<string> => (await exchange(c, 'q', `SEARCH ${q}`))[0];
  t.is(await search('FROM user-from@domain.org'), '* SEARCH 1 2 3 4 5');
  t.is(await search('FROM realfrom'), '* SEARCH 2 4 5');
  t.is(await search('FROM comment'), '* SEARCH', 'comments are not part of the address');
  t.is(await search('FROM ser-fro'), '* SEARCH 1 2 3 4 5');
  t.is(await search('TO groupname'), '* SEARCH 5');
  t.is(await search('TO groupuser3'), '* SEARCH 5');
  t.is(await search('TO groupuser4'), '* SEARCH');
  t.is(await search(`FROM "${Buffer.from('Jürgen').toString('latin1')}"`), '* SEARCH 6', 'encoded words in the display name are decoded');
});

// ---- "[" in atoms ----

test('"[" is an atom character outside FETCH sections: a mailbox "a[b" is created, listed and selected', async (t) => {
  const c = await alice(['Subject: x\r\n\r\nx\r\n']);
  t.is((await exchange(c, 'c', 'CREATE a[b')).pop(), 'c OK CREATE completed');
  t.deepEqual(await exchange(c, 'l', 'LIST "" a[b'), ['* LIST (\\HasNoChildren) "." a[b', 'l OK LIST completed']);
  t.regex((await exchange(c, 's', 'SELECT a[b')).pop()!, /^s OK/);
  t.regex((await exchange(c, 'n', 'LIST "" ~foo')).pop()!, /^n OK/);
  // A FETCH section still parses with spaces and lists inside the brackets.
  await exchange(c, 'i', 'SELECT INBOX');
  const f = await exchange(c, 'f', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])');
  t.regex(f[0], /^\* 1 FETCH \(BODY\[HEADER\.FIELDS \(Subject\)\] \{\d+\}$/i);
});

// ---- APPENDLIMIT ----

test('APPENDLIMIT: a message of exactly the limit is accepted, one octet more is refused with NO [TOOBIG] (RFC 7889)', async (t) => {
  const limit = 4096;
  const c = await alice([], limit);
  const body = (n: number): string => `Subject: big\r\n\r\n${'x'.repeat(n - 18)}\r\n`;
  t.is(body(limit).length, limit);
  c.write(`a APPEND INBOX {${limit}}\r\n`);
  t.regex((await c.line())!, /^\+ /);
  c.write(`${body(limit)}\r\n`);
  t.regex((await c.line())!, /^a OK \[APPENDUID \d+ 1\]/);
  c.write(`b APPEND INBOX {${limit + 1}}\r\n`);
  t.regex((await c.line())!, /^b NO \[TOOBIG\]/);
  await play(t, c, 'C: n NOOP\nS: n OK NOOP completed');
});

// ---- counted reads ----

test('the framer assembles a counted read from any chunking, and takes every piece as it comes (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }), async (data, cuts) => {
      const f = new LineFramer({ maxLineLength: 1024 });
      const want = Buffer.from(data);
      const p = f.readBytes(want.length - 1);
      let at = 0;
      for (const c of cuts) {
        if (at >= want.length) break;
        f.push(want.subarray(at, Math.min(want.length, at + c)));
        at += c;
        // While the read waits, nothing it already received stays buffered in the framer (no
        // re-copy per chunk): only what exceeds the count can be left.
        await Promise.resolve();
        t.true(f.buffered <= Math.max(0, Math.min(at, want.length) - (want.length - 1)));
      }
      if (at < want.length) f.push(want.subarray(at));
      const got = await p;
      return got !== null && got.equals(want.subarray(0, want.length - 1)) && f.buffered === 1;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('STATUS=SIZE (RFC 8438): SIZE is the mailbox octets, in STATUS and in LIST-STATUS', async (t) => {
  const m = 'Subject: x\r\n\r\nhello\r\n';
  const c = await alice([m, m]);
  t.is((await exchange(c, 's', 'STATUS INBOX (MESSAGES SIZE)'))[0], `* STATUS INBOX (MESSAGES 2 SIZE ${2 * m.length})`);
  const l = await exchange(c, 'l', 'LIST "" INBOX RETURN (STATUS (SIZE))');
  t.is(l[1], `* STATUS INBOX (SIZE ${2 * m.length})`);
});
