// IMAP extensions of issue 19, as transcripts over an in-memory pair with the real mail store:
// MULTIAPPEND (RFC 3502, all or nothing), LIST-EXTENDED (RFC 5258) with LIST-STATUS (RFC 5819), BINARY
// (RFC 3516), with property tests for the new grammar and hostile inputs (too many messages, too many
// octets, literal8 outside APPEND, failures part-way).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { MailStore } from '../../core/mail-store/index.js';
import { parseCommand, ParseError, type Token } from '../../services/imap/command-parser.js';
import { encodeBinaryParts } from '../../services/imap/append-binary.js';
import { parseAppendMessages } from '../../services/imap/commands/append.js';
import { expandSavedKeys, saveResult, takeSave } from '../../services/imap/commands/searchres.js';
import { ImapError } from '../../services/imap/imap-errors.js';
import { parseImapUrl } from '../../services/imap/imap-url.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { compileSearch } from '../../services/imap/search.js';
import type { SelectedMailbox } from '../../services/imap/selected-mailbox.js';
import { decodeBase64, decodeQuotedPrintable, decodeTransfer } from '../../services/imap/transfer-decode.js';
import { closeMailFixtures, mailFixture, play, type TranscriptClient } from '../core/line-transcript.js';
import { exchange, imapSessions } from './transcript-lab.js';

const extraStores: Array<{ store: MailStore; dir: string }> = [];

/** A session factory over the fixture's store, or over a store with quota limits. */
async function imap(o: { messages?: string[]; appendLimit?: number; quota?: { maxBytes?: number; maxMessages?: number } } = {}) {
  const fixture = await mailFixture(o.messages ?? []);
  let store = fixture.store;
  if (o.quota) {
    const dir = mkdtempSync(join(tmpdir(), 'labnet-ext-'));
    store = new MailStore({ root: dir, quota: o.quota, indexSaveDelayMs: 0 });
    await store.start();
    extraStores.push({ store, dir });
  }
  return { store, lab: imapSessions(store, fixture.accounts, { appendLimit: o.appendLimit }) };
}

/** A logged-in session of alice. */
async function alice(o: Parameters<typeof imap>[0] = {}): Promise<{ c: TranscriptClient; store: MailStore }> {
  const { store, lab } = await imap(o);
  const { client } = lab.open();
  await client.line();
  client.write('l LOGIN alice alice-lab\r\n');
  while (!(await client.line())!.startsWith('l OK'));
  return { c: client, store };
}

const lit = (s: string): string => `{${Buffer.byteLength(s)}+}\r\n${s}`;
const msg = (subject: string): string => `From: bob@lab.test\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

test.after.always(async () => {
  await closeMailFixtures();
  for (const { store, dir } of extraStores.splice(0)) {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- MULTIAPPEND (RFC 3502) ----

test('MULTIAPPEND: two messages in one APPEND, each with its flags and date, APPENDUID names both UIDs', async (t) => {
  const { c } = await alice();
  const r = await exchange(c, 'a', `APPEND INBOX (\\Seen) "01-Feb-2024 10:00:00 +0000" ${lit(msg('one'))} (\\Flagged $Work) ${lit(msg('two'))}`);
  t.regex(r.pop()!, /^a OK \[APPENDUID \d+ 1:2\] APPEND completed$/);
  t.true((await exchange(c, 's', 'SELECT INBOX')).includes('* 2 EXISTS'));
  const f = await exchange(c, 'f', 'FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
  t.regex(f[0], /^\* 1 FETCH \(FLAGS \(\\Seen( \\Recent)?\) INTERNALDATE "01-Feb-2024 10:00:00 \+0000" /);
  t.regex(f.join('\n'), /Subject: one/);
  t.regex(f.join('\n'), /\* 2 FETCH \(FLAGS \(\\Flagged \$Work( \\Recent)?\)[^]*Subject: two/);
});

test('MULTIAPPEND: synchronising literals, the second one refused as too big: nothing appended, the session goes on', async (t) => {
  const { c } = await alice({ appendLimit: 2000 });
  c.write(`a APPEND INBOX {${msg('one').length}}\r\n`);
  t.regex((await c.line())!, /^\+ /);
  c.write(`${msg('one')} {5000}\r\n`);
  t.regex((await c.line())!, /^a NO \[TOOBIG\]/);
  await play(t, c, 'C: n NOOP\nS: n OK NOOP completed');
  t.deepEqual(await exchange(c, 's', 'STATUS INBOX (MESSAGES)'), ['* STATUS INBOX (MESSAGES 0)', 's OK STATUS completed']);
});

test('MULTIAPPEND is all or nothing: over the quota on the third message stores none, no staging files are left', async (t) => {
  const { c, store } = await alice({ quota: { maxMessages: 2 } });
  const r = await exchange(c, 'a', `APPEND INBOX ${lit(msg('one'))} ${lit(msg('two'))} ${lit(msg('three'))}`);
  t.regex(r.pop()!, /^a NO \[OVERQUOTA\]/);
  t.deepEqual(await exchange(c, 's', 'STATUS INBOX (MESSAGES UIDNEXT)'), ['* STATUS INBOX (MESSAGES 0 UIDNEXT 1)', 's OK STATUS completed']);
  t.deepEqual(
    readdirSync(store.root).filter((n) => n.startsWith('.deleted-')),
    [],
  );
  // Two fit.
  t.regex((await exchange(c, 'b', `APPEND INBOX ${lit(msg('one'))} ${lit(msg('two'))}`)).pop()!, /^b OK \[APPENDUID \d+ 1:2\]/);
});

test('MULTIAPPEND is all or nothing when the commit fails: keywords over the folder limit store none', async (t) => {
  const { c } = await alice();
  const kw = (from: number, n: number): string => Array.from({ length: n }, (_, i) => `k${from + i}`).join(' ');
  t.regex((await exchange(c, 'a', `APPEND INBOX (${kw(0, 20)}) ${lit(msg('zero'))}`)).pop()!, /^a OK/);
  // Each message alone fits (20 + 4 and 20 + 4 keywords), both together do not (20 + 8 > 26).
  const r = await exchange(c, 'b', `APPEND INBOX (${kw(20, 4)}) ${lit(msg('one'))} (${kw(30, 4)}) ${lit(msg('two'))}`);
  t.regex(r.pop()!, /^b NO \[LIMIT\]/);
  t.deepEqual(await exchange(c, 's', 'STATUS INBOX (MESSAGES)'), ['* STATUS INBOX (MESSAGES 1)', 's OK STATUS completed']);
});

test('MULTIAPPEND hostile input: more literals than maxLiterals, a missing literal, flags twice, an empty message', async (t) => {
  const { c } = await alice();
  const many = Array.from({ length: IMAP_LIMITS.maxLiterals + 1 }, () => lit('x')).join(' ');
  t.regex((await exchange(c, 'a', `APPEND INBOX ${many}`)).pop()!, /^a (BAD|NO) \[TOOBIG\]/);
  t.regex((await exchange(c, 'b', `APPEND INBOX ${lit(msg('one'))} (\\Seen)`)).pop()!, /^b BAD /);
  t.regex((await exchange(c, 'c', `APPEND INBOX (\\Seen) (\\Seen) ${lit(msg('one'))}`)).pop()!, /^c BAD /);
  t.regex((await exchange(c, 'd', `APPEND INBOX ${lit(msg('one'))} {0+}\r\n`)).pop()!, /^d NO Empty message/);
  t.regex((await exchange(c, 'e', `APPEND INBOX ${lit(msg('one'))} "not a date" ${lit(msg('two'))}`)).pop()!, /^e BAD invalid date-time/);
  t.deepEqual(await exchange(c, 's', 'STATUS INBOX (MESSAGES)'), ['* STATUS INBOX (MESSAGES 0)', 's OK STATUS completed']);
});

// ---- the APPEND grammar (property tests) ----

const flagArb = fc.constantFrom('\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft', '$Work', 'todo');
const messageArb = fc.record({
  flags: fc.option(fc.uniqueArray(flagArb, { maxLength: 4 }), { nil: undefined }),
  date: fc.option(fc.constantFrom('"17-Jul-1996 02:44:25 -0700"', '" 1-Feb-2024 10:00:00 +0000"'), { nil: undefined }),
  body: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  binary: fc.boolean(),
});

test('APPEND grammar: any valid sequence of messages parses back to the same flags, dates and octets (property)', (t) => {
  fc.assert(
    fc.property(fc.array(messageArb, { minLength: 1, maxLength: 6 }), (msgs) => {
      const parts: Buffer[] = [Buffer.from('t APPEND INBOX')];
      for (const m of msgs) {
        if (m.flags) parts.push(Buffer.from(` (${m.flags.join(' ')})`));
        if (m.date) parts.push(Buffer.from(` ${m.date}`));
        parts.push(Buffer.from(` ${m.binary ? '~' : ''}{${m.body.length}}\r\n`), Buffer.from(m.body));
      }
      const cmd = parseCommand(Buffer.concat(parts));
      const got = parseAppendMessages(cmd.args.slice(1));
      return (
        got.length === msgs.length &&
        got.every(
          (g, i) =>
            // A literal8 holding NUL octets is stored with those parts base64-encoded (RFC 3516 4.4).
            g.data.equals(msgs[i].binary ? encodeBinaryParts(Buffer.from(msgs[i].body)) : Buffer.from(msgs[i].body)) &&
            g.flags.join(' ') === (msgs[i].flags ?? []).join(' ') &&
            (g.date !== undefined) === (msgs[i].date !== undefined),
        )
      );
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('APPEND grammar: random token soup never throws anything but BAD/parse errors (property)', (t) => {
  const tokenArb = fc.constantFrom(
    '(\\Seen)',
    '()',
    '"17-Jul-1996 02:44:25 -0700"',
    '"junk"',
    '{3}\r\nabc',
    '~{2}\r\n\0\0',
    'atom',
    '(a (b))',
    'CATENATE',
    '~foo',
    '~{',
    '{99}\r\n',
  );
  fc.assert(
    fc.property(fc.array(tokenArb, { maxLength: 8 }), (toks) => {
      try {
        const cmd = parseCommand(Buffer.from(`t APPEND INBOX ${toks.join(' ')}`));
        parseAppendMessages(cmd.args.slice(1));
      } catch (err) {
        return err instanceof ParseError || (err instanceof ImapError && err.kind === 'BAD');
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('a literal8 outside APPEND data is BAD, and the session goes on', async (t) => {
  const { c } = await alice();
  t.regex((await exchange(c, 'a', 'CREATE ~{3+}\r\nabc')).pop()!, /^a BAD .*literal8/);
  await play(t, c, 'C: n NOOP\nS: n OK NOOP completed');
});

// ---- LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819) ----

/** Folders a, a.b, a.c.d (a.c does not exist), a.x subscribed then deleted; subscribed: a.b, a.c.d, a.x. */
async function listFixture(): Promise<TranscriptClient> {
  const { c } = await alice();
  for (const n of ['a', 'a.b', 'a.c.d', 'a.x']) t0((await exchange(c, 'c', `CREATE ${n}`)).pop());
  for (const n of ['a.b', 'a.c.d', 'a.x']) t0((await exchange(c, 's', `SUBSCRIBE ${n}`)).pop());
  t0((await exchange(c, 'd', 'DELETE a.x')).pop());
  return c;
}
function t0(line: string | undefined): void {
  if (!line || !/^\w+ OK/.test(line)) throw new Error(`setup failed: ${line}`);
}

test('LIST (SUBSCRIBED): a subscription without a mailbox is \\NonExistent, never \\Noselect; LSUB lists it too', async (t) => {
  const c = await listFixture();
  t.deepEqual(await exchange(c, 'l', 'LIST (SUBSCRIBED) "" a*'), [
    '* LIST (\\HasNoChildren \\Subscribed) "." a.b',
    '* LIST (\\HasNoChildren \\Subscribed) "." a.c.d',
    '* LIST (\\NonExistent \\Subscribed) "." a.x',
    'l OK LIST completed',
  ]);
  t.deepEqual(await exchange(c, 'm', 'LSUB "" a.*'), ['* LSUB () "." a.b', '* LSUB () "." a.c.d', '* LSUB () "." a.x', 'm OK LSUB completed']);
  // Plain LIST shows folders only.
  t.deepEqual(await exchange(c, 'n', 'LIST "" a.%'), ['* LIST (\\HasNoChildren) "." a.b', '* LIST (\\Noselect \\HasChildren) "." a.c', 'n OK LIST completed']);
});

test('LIST (SUBSCRIBED RECURSIVEMATCH): a matching parent of a selected name no pattern matches gets CHILDINFO', async (t) => {
  const c = await listFixture();
  t.deepEqual(await exchange(c, 'l', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" a.% RETURN (CHILDREN)'), [
    '* LIST (\\HasNoChildren \\Subscribed) "." a.b',
    '* LIST (\\NonExistent \\Subscribed) "." a.x',
    '* LIST (\\NonExistent \\HasChildren) "." a.c ("CHILDINFO" ("SUBSCRIBED"))',
    'l OK LIST completed',
  ]);
  t.deepEqual(await exchange(c, 'm', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (a a.b)'), [
    '* LIST (\\HasNoChildren \\Subscribed) "." a.b',
    '* LIST (\\HasChildren) "." a ("CHILDINFO" ("SUBSCRIBED"))',
    'm OK LIST completed',
  ]);
  // Every selected descendant is listed itself: no CHILDINFO.
  t.deepEqual(await exchange(c, 'n', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" a*'), [
    '* LIST (\\HasNoChildren \\Subscribed) "." a.b',
    '* LIST (\\HasNoChildren \\Subscribed) "." a.c.d',
    '* LIST (\\NonExistent \\Subscribed) "." a.x',
    'n OK LIST completed',
  ]);
});

test('LIST-EXTENDED: several patterns, RETURN (SUBSCRIBED CHILDREN STATUS), REMOTE; no STATUS for names that cannot be selected', async (t) => {
  const c = await listFixture();
  t.deepEqual(await exchange(c, 'l', 'LIST (REMOTE) "" (a.b a a.x a.c) RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES))'), [
    '* LIST (\\HasChildren) "." a',
    '* STATUS a (MESSAGES 0)',
    '* LIST (\\HasNoChildren \\Subscribed) "." a.b',
    '* STATUS a.b (MESSAGES 0)',
    // a.c does not exist, a.c.d does: the parent stands in as \Noselect (as without LIST-EXTENDED).
    '* LIST (\\Noselect \\HasChildren) "." a.c',
    'l OK LIST completed',
  ]);
  t.deepEqual(await exchange(c, 'm', 'LIST (SUBSCRIBED) "" a.x RETURN (STATUS (MESSAGES))'), [
    '* LIST (\\NonExistent \\Subscribed) "." a.x',
    'm OK LIST completed',
  ]);
});

test('LIST-EXTENDED hostile and wrong options: unknown selection or return options, RECURSIVEMATCH alone or with REMOTE only are BAD', async (t) => {
  const { c } = await alice();
  for (const [tag, text] of [
    ['a', 'LIST (IMAPTEST) "" ""'],
    ['b', 'LIST (RECURSIVEMATCH) "" %'],
    ['c', 'LIST (RECURSIVEMATCH REMOTE) "" %'],
    ['d', 'LIST "" % RETURN (IMAPTEST)'],
    ['e', 'LIST "" % RETURN (STATUS)'],
    ['f', 'LIST "" % RETURN (STATUS (FROB))'],
    ['g', `LIST "" (${Array.from({ length: IMAP_LIMITS.maxListPatterns + 1 }, () => '%').join(' ')})`],
    ['h', 'LIST ((SUBSCRIBED)) "" %'],
  ])
    t.regex((await exchange(c, tag, text)).pop()!, new RegExp(`^${tag} BAD `), text);
  await play(t, c, 'C: n NOOP\nS: n OK NOOP completed');
});

test.serial('SUBSCRIBE is bounded: beyond maxSubscriptions it is NO [LIMIT]', async (t) => {
  const limits = IMAP_LIMITS as { maxSubscriptions: number };
  const was = limits.maxSubscriptions;
  try {
    const { c, store } = await alice();
    // The default folders are subscribed at first login.
    const existing = (await store.subscriptions('alice')).length;
    limits.maxSubscriptions = existing + 3;
    for (const n of ['x1', 'x2', 'x3']) t.regex((await exchange(c, 's', `SUBSCRIBE ${n}`)).pop()!, /^s OK/);
    t.is((await exchange(c, 't', 'SUBSCRIBE x4')).pop(), `t NO [LIMIT] At most ${existing + 3} subscriptions`);
    t.regex((await exchange(c, 'u', 'UNSUBSCRIBE x1')).pop()!, /^u OK/);
    t.regex((await exchange(c, 'v', 'SUBSCRIBE x4')).pop()!, /^v OK/);
  } finally {
    limits.maxSubscriptions = was;
  }
});

test('LIST-EXTENDED grammar: any mix of known and unknown options answers OK or BAD, never anything else (property)', async (t) => {
  let c = (await alice()).c;
  let bads = 0;
  const sel = fc.subarray(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE', 'FROB']);
  const ret = fc.subarray(['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'STATUS (MESSAGES UNSEEN)', 'FROB']);
  const pats = fc.array(fc.constantFrom('%', '*', 'INBOX', '"a b"', 'Tr*', '""'), { minLength: 1, maxLength: 3 });
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.option(sel), pats, fc.option(ret), async (s, p, r) => {
      const text = `LIST ${s ? `(${s.join(' ')}) ` : ''}"" ${p.length === 1 ? p[0] : `(${p.join(' ')})`}${r ? ` RETURN (${r.join(' ')})` : ''}`;
      // A fresh session before the session's bad-command limit ends it.
      if (bads >= IMAP_LIMITS.maxBadCommands - 5) {
        c = (await alice()).c;
        bads = 0;
      }
      const reply = (await exchange(c, `p${n++}`, text)).pop()!;
      if (/ BAD /.test(reply)) bads++;
      const wantBad =
        (s?.includes('FROB') ?? false) ||
        (r?.includes('FROB') ?? false) ||
        (s !== null && s.includes('RECURSIVEMATCH') && !s.some((o) => o !== 'RECURSIVEMATCH' && o !== 'REMOTE'));
      return wantBad ? / BAD /.test(reply) : / OK LIST completed$/.test(reply);
    }),
    { numRuns: 150 },
  );
  t.pass();
});

// ---- BINARY (RFC 3516) ----

/** A reference quoted-printable encoder (RFC 2045 section 6.7): every octet but safe printables as =XX, soft breaks at 70. */
function qpEncode(data: Uint8Array): string {
  let out = '';
  let line = '';
  for (const b of data) {
    const safe = b >= 33 && b <= 126 && b !== 61;
    const piece = safe ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + piece.length > 70) {
      out += `${line}=\r\n`;
      line = '';
    }
    line += piece;
  }
  return out + line;
}

test('base64 decoding: any octets, encoded and broken into lines with white space anywhere, decode back (property)', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.constantFrom('\r\n', '\n', ' ', '\t', '  \r\n'),
      (data, cuts, ws) => {
        let text = Buffer.from(data).toString('base64');
        for (const c of cuts) {
          const at = c % (text.length + 1);
          text = text.slice(0, at) + ws + text.slice(at);
        }
        return decodeBase64(Buffer.from(text, 'latin1')).equals(Buffer.from(data));
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

test('quoted-printable decoding: the reference encoding of any octets decodes back; any input decodes without growing past its bound (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (data) => decodeQuotedPrintable(Buffer.from(qpEncode(data), 'latin1')).equals(Buffer.from(data))),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
      const src = Buffer.from(data);
      const lfs = data.filter((b) => b === 0x0a).length;
      return decodeQuotedPrintable(src).length <= src.length + lfs && decodeBase64(src).length <= src.length;
    }),
    { numRuns: 500 },
  );
  // RFC 2045 6.7: trailing white space dropped, "=" at the end (after padding) a soft break, bad escapes kept.
  t.is(decodeQuotedPrintable(Buffer.from('hello  \r\nbar=\r\n\r\nfoo\t= \r\n=62 =4\r\n=ZZ')).toString('latin1'), 'hello\r\nbar\r\nfoo\tb =4\r\n=ZZ');
  t.is(decodeTransfer(Buffer.from('x'), 'x-uuencode'), undefined);
  t.is(decodeTransfer(Buffer.from('x'), ' 8BIT ')!.toString(), 'x');
});

/** How the transcript client shows UTF-8 octets (it reads latin1). */
const latin1 = (s: string): string => Buffer.from(s).toString('latin1');

const MIXED = [
  'From: bob@lab.test',
  'Subject: parts',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 =',
  'ok',
  '--b',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from([0, 1, 2, 0xff, 13, 10]).toString('base64'),
  '--b',
  'Content-Type: application/x-thing',
  'Content-Transfer-Encoding: x-uuencode',
  '',
  'begin 644 x',
  '--b--',
  '',
].join('\r\n');

test('FETCH BINARY: decoded parts, literal8 only for data with NUL, BINARY.SIZE, partials; BINARY sets \\Seen, BINARY.PEEK does not', async (t) => {
  const { c } = await alice({ messages: [MIXED] });
  await exchange(c, 's', 'SELECT INBOX');
  t.deepEqual(await exchange(c, 'a', 'FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])'), [
    '* 1 FETCH (BINARY.SIZE[1] 8 BINARY[1] {8}',
    latin1('café ok)'),
    'a OK FETCH completed',
  ]);
  const b = await exchange(c, 'b', 'FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])');
  t.is(b[0], '* 1 FETCH (BINARY[2] ~{6}');
  t.is(Buffer.from(b[1], 'latin1').subarray(0, 4).toString('hex'), '000102ff');
  t.is(b[2], ' BINARY.SIZE[2] 6)');
  t.deepEqual(await exchange(c, 'c', 'FETCH 1 (BINARY.PEEK[1]<2.3> FLAGS)'), [
    '* 1 FETCH (BINARY[1]<2> {3}',
    latin1('fé FLAGS (\\Recent))'),
    'c OK FETCH completed',
  ]);
  t.deepEqual(await exchange(c, 'd', 'FETCH 1 (BINARY[1]<100.3>)'), ['* 1 FETCH (BINARY[1]<100> {0}', ' FLAGS (\\Seen \\Recent))', 'd OK FETCH completed']);
  // BINARY[] is the whole message, unchanged.
  t.regex((await exchange(c, 'e', 'UID FETCH 1 (BINARY.SIZE[])'))[0], new RegExp(`BINARY\\.SIZE\\[\\] ${Buffer.byteLength(MIXED)}`));
});

test('FETCH BINARY of a part in an unknown transfer encoding is NO [UNKNOWN-CTE]; bad binary sections are BAD', async (t) => {
  const { c } = await alice({ messages: [MIXED] });
  await exchange(c, 's', 'SELECT INBOX');
  t.regex((await exchange(c, 'a', 'FETCH 1 (BINARY.PEEK[3])')).pop()!, /^a NO \[UNKNOWN-CTE\]/);
  t.regex((await exchange(c, 'b', 'FETCH 1 (BINARY.SIZE[3])')).pop()!, /^b NO \[UNKNOWN-CTE\]/);
  for (const [tag, item] of [
    ['c', 'BINARY[1.HEADER]'],
    ['d', 'BINARY[TEXT]'],
    ['e', 'BINARY.SIZE[1]<0.5>'],
    ['f', 'BINARY[0]'],
    ['g', 'BINARY.PEEK[1.MIME]'],
  ])
    t.regex((await exchange(c, tag, `FETCH 1 (${item})`)).pop()!, new RegExp(`^${tag} BAD `), item);
  // A part that does not exist is empty, as BODY[] answers it.
  t.deepEqual(await exchange(c, 'h', 'FETCH 1 (BINARY.PEEK[9])'), ['* 1 FETCH (BINARY[9] {0}', ')', 'h OK FETCH completed']);
  await play(t, c, 'C: n NOOP\nS: n OK NOOP completed');
});

test('APPEND with a literal8 holding NUL: stored base64-encoded (BODY[1] is a plain literal), BINARY[1] gives the octets back', async (t) => {
  const { c } = await alice();
  const head = 'From: bob@lab.test\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n';
  const body = Buffer.from([0, 0x2d, 0xe4, 13, 10, 0, 13, 10]);
  const message = Buffer.concat([Buffer.from(head), body]);
  c.write(`a APPEND INBOX ~{${message.length}+}\r\n${message.toString('latin1')}\r\n`);
  t.regex((await c.line())!, /^a OK \[APPENDUID \d+ 1\]/);
  await exchange(c, 's', 'SELECT INBOX');
  const f = await exchange(c, 'f', 'FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME])');
  t.is(f[1], Buffer.from(body).toString('base64'));
  t.true(f.some((l) => l === 'Content-Transfer-Encoding: base64'));
  const b = await exchange(c, 'b', 'FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])');
  t.is(b[0], `* 1 FETCH (BINARY.SIZE[1] ${body.length} BINARY[1] ~{${body.length}}`);
  // Without NUL octets a literal8 message is stored as it was sent.
  const plain = Buffer.from('Subject: x\r\n\r\n\u00e9\r\n', 'latin1');
  c.write(`p APPEND INBOX ~{${plain.length}+}\r\n${plain.toString('latin1')}\r\n`);
  t.regex((await c.line())!, /^\* 2 EXISTS|^p OK/);
  t.deepEqual(
    (await exchange(c, 'g', 'FETCH 2 (RFC822.SIZE)')).filter((l) => l.includes('RFC822.SIZE')),
    [`* 2 FETCH (RFC822.SIZE ${plain.length})`],
  );
});

// ---- CATENATE (RFC 4469) and IMAP URLs (RFC 5092) ----

test('IMAP URL parse: generated URLs parse back; any string is answered without throwing, fast, and other users are refused (property)', (t) => {
  const seg = fc.stringMatching(/^[A-Za-z0-9&._-]{1,12}$/);
  fc.assert(
    fc.property(
      fc.array(seg, { minLength: 1, maxLength: 3 }),
      fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: undefined }),
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.constantFrom('', 'HEADER', 'TEXT', '1', '1.2.MIME', 'HEADER.FIELDS%20(Subject)'),
      fc.option(fc.tuple(fc.nat(), fc.option(fc.integer({ min: 1, max: 99999 }), { nil: undefined })), { nil: undefined }),
      fc.boolean(),
      (path, validity, uid, section, partial, absolute) => {
        const url = `${absolute ? 'imap://alice;AUTH=*@labnet.lab.test:143' : ''}/${path.join('/')}${validity ? `;UIDVALIDITY=${validity}` : ''}/;UID=${uid}${section ? `/;SECTION=${section}` : ''}${partial ? `/;PARTIAL=${partial[0]}${partial[1] ? `.${partial[1]}` : ''}` : ''}`;
        const u = parseImapUrl(url, 'alice');
        return (
          u !== undefined &&
          u.mailbox === path.join('/') &&
          u.uid === uid &&
          u.uidValidity === validity &&
          u.section === section.replace('%20', ' ') &&
          u.partial?.offset === partial?.[0] &&
          u.partial?.length === partial?.[1]
        );
      },
    ),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.constantFrom('', '/INBOX/;UID=1', 'imap://x@h/INBOX/;UID=1'), (junk, prefix) => {
      const r = parseImapUrl(prefix + junk, 'alice');
      return r === undefined || typeof r.uid === 'number';
    }),
    { numRuns: 500 },
  );
  t.is(parseImapUrl('imap://bob@labnet/INBOX/;UID=1', 'alice'), undefined);
  t.is(parseImapUrl('/INBOX/;UID=1;URLAUTH=anonymous:internal:91354a473744909de610943775f92038', 'alice'), undefined);
  t.is(parseImapUrl(`/${'a'.repeat(3000)}/;UID=1`, 'alice'), undefined);
  t.is(parseImapUrl(`/${'a/'.repeat(900)};;;/;UID=1`, 'alice'), undefined);
  t.truthy(parseImapUrl('IMAP://ALICE@labnet/INBOX/;UID=1', 'alice'));
});

test('CATENATE: TEXT and URL parts (a section, a partial, the whole message) build one message; APPENDUID as usual', async (t) => {
  const { c } = await alice({ messages: [MIXED] });
  const status = await exchange(c, 'v', 'STATUS INBOX (UIDVALIDITY)');
  const validity = /UIDVALIDITY (\d+)/.exec(status[0])![1];
  const r = await exchange(
    c,
    'a',
    `APPEND Drafts (\\Draft) CATENATE (URL "/INBOX;UIDVALIDITY=${validity}/;UID=1/;SECTION=HEADER.FIELDS%20(From)" TEXT ${lit('Subject: built\r\n\r\n')} URL "/INBOX/;UID=1/;SECTION=1/;PARTIAL=0.4" TEXT ${lit('!\r\n')})`,
  );
  t.regex(r.pop()!, /^a OK \[APPENDUID \d+ 1\] APPEND completed$/);
  await exchange(c, 's', 'SELECT Drafts');
  const f = await exchange(c, 'f', 'FETCH 1 (FLAGS BODY.PEEK[])');
  // HEADER.FIELDS ends with its blank line (RFC 3501 section 6.4.5): the URL part brings it along.
  t.deepEqual(f.slice(1, 7), ['From: bob@lab.test', '', 'Subject: built', '', 'caf=!', ')']);
  t.regex(f[0], /FLAGS \(\\Draft( \\Recent)?\)/);
  // The whole message by URL, in a MULTIAPPEND beside a plain literal.
  t.regex(
    (await exchange(c, 'b', `APPEND Drafts CATENATE (URL "imap://alice@labnet.lab.test/INBOX/;UID=1") ${lit(msg('plain'))}`)).pop()!,
    /^b OK \[APPENDUID \d+ 2:3\]/,
  );
  t.regex((await exchange(c, 'g', 'FETCH 2 (RFC822.SIZE)'))[0], new RegExp(`RFC822\\.SIZE ${Buffer.byteLength(MIXED)}\\)`));
});

test('CATENATE refusals: BADURL for other users, a changed UIDVALIDITY, missing messages and URLAUTH; TRYCREATE first; TOOBIG; nothing is appended', async (t) => {
  const { c } = await alice({ messages: [MIXED], appendLimit: 2000 });
  const bads = [
    'imap://bob@labnet/INBOX/;UID=1',
    '/INBOX;UIDVALIDITY=1/;UID=1',
    '/INBOX/;UID=99',
    '/Nope/;UID=1',
    '/INBOX/;UID=1/;SECTION=9.TEXT',
    '/INBOX/;UID=1;URLAUTH=anonymous:internal:0123',
    'http://example.org/',
  ];
  for (const [i, url] of bads.entries()) {
    const r = (await exchange(c, `b${i}`, `APPEND Drafts CATENATE (TEXT ${lit('Subject: x\r\n\r\n')} URL "${url}")`)).pop()!;
    t.true(r.startsWith(`b${i} NO [BADURL ${url}] `), r);
  }
  // MULTIAPPEND with a bad URL in the second message: the first is not stored either.
  t.regex((await exchange(c, 'm', `APPEND Drafts ${lit(msg('one'))} CATENATE (URL "/INBOX/;UID=99")`)).pop()!, /^m NO \[BADURL /);
  t.regex((await exchange(c, 'n', 'APPEND Nowhere CATENATE (URL "/INBOX/;UID=99")')).pop()!, /^n NO \[TRYCREATE\]/);
  t.true(Buffer.byteLength(MIXED) * 8 > 2000);
  const twice = Array.from({ length: 8 }, () => 'URL "/INBOX/;UID=1"').join(' ');
  t.regex((await exchange(c, 'o', `APPEND Drafts CATENATE (${twice})`)).pop()!, /^o NO \[TOOBIG\]/);
  t.regex((await exchange(c, 'p', 'APPEND Drafts CATENATE (TEXT "quoted")')).pop()!, /^p BAD /);
  t.regex((await exchange(c, 'q', 'APPEND Drafts CATENATE ()')).pop()!, /^q BAD /);
  t.regex(
    (
      await exchange(c, 'r', `APPEND Drafts CATENATE (${Array.from({ length: IMAP_LIMITS.maxCatenateParts + 1 }, () => 'URL "/INBOX/;UID=1"').join(' ')})`)
    ).pop()!,
    /^r BAD /,
  );
  t.deepEqual(await exchange(c, 's', 'STATUS Drafts (MESSAGES)'), ['* STATUS Drafts (MESSAGES 0)', 's OK STATUS completed']);
});

// ---- SEARCHRES (RFC 5182) ----

test('SEARCHRES: RETURN (SAVE) answers no ESEARCH; "$" in FETCH, UID FETCH, STORE, SEARCH, COPY, UID EXPUNGE; MIN/MAX save only those', async (t) => {
  const { c } = await alice({ messages: [1, 2, 3, 4, 5].map((i) => msg(`m${i}`)) });
  await exchange(c, 's', 'SELECT INBOX');
  // Nothing saved yet: "$" is the empty set.
  t.deepEqual(await exchange(c, 'a', 'FETCH $ UID'), ['a OK FETCH completed']);
  t.deepEqual(await exchange(c, 'b', 'STORE 2,4 +FLAGS.SILENT (\\Flagged)'), ['b OK STORE completed']);
  t.deepEqual(await exchange(c, 'c', 'SEARCH RETURN (SAVE) FLAGGED'), ['c OK SEARCH completed']);
  t.deepEqual(await exchange(c, 'd', 'FETCH $ UID'), ['* 2 FETCH (UID 2)', '* 4 FETCH (UID 4)', 'd OK FETCH completed']);
  t.deepEqual(await exchange(c, 'e', 'UID FETCH $ UID'), ['* 2 FETCH (UID 2)', '* 4 FETCH (UID 4)', 'e OK UID FETCH completed']);
  t.deepEqual(await exchange(c, 'f', 'SEARCH OR $ 5'), ['* SEARCH 2 4 5', 'f OK SEARCH completed']);
  t.deepEqual(await exchange(c, 'g', 'STORE $ +FLAGS.SILENT (\\Deleted)'), ['g OK STORE completed']);
  t.regex((await exchange(c, 'h', 'COPY $ Trash')).pop()!, /^h OK \[COPYUID \d+ 2,4 1[,:]2\]/);
  // UID EXPUNGE $ removes 2 and 4; "$" then names what is left of the saved messages: nothing.
  t.deepEqual(await exchange(c, 'i', 'UID EXPUNGE $'), ['* 2 EXPUNGE', '* 3 EXPUNGE', 'i OK UID EXPUNGE completed']);
  t.deepEqual(await exchange(c, 'j', 'FETCH $ UID'), ['j OK FETCH completed']);
  t.deepEqual(await exchange(c, 'k', 'SEARCH RETURN (SAVE MIN MAX) ALL'), ['* ESEARCH (TAG "k") MIN 1 MAX 3', 'k OK SEARCH completed']);
  t.deepEqual(await exchange(c, 'l', 'UID SEARCH $'), ['* SEARCH 1 5', 'l OK UID SEARCH completed']);
  t.deepEqual(await exchange(c, 'm', 'UID SEARCH RETURN (SAVE COUNT) UID 3:5'), ['* ESEARCH (TAG "m") UID COUNT 2', 'm OK UID SEARCH completed']);
  t.deepEqual(await exchange(c, 'n', 'FETCH $ UID'), ['* 2 FETCH (UID 3)', '* 3 FETCH (UID 5)', 'n OK FETCH completed']);
  // A failed SEARCH with SAVE empties the result (section 2.1); so does a new SELECT.
  t.regex((await exchange(c, 'o', 'SEARCH RETURN (SAVE) FROB')).pop()!, /^o BAD /);
  t.deepEqual(await exchange(c, 'p', 'FETCH $ UID'), ['p OK FETCH completed']);
  await exchange(c, 'q', 'SEARCH RETURN (SAVE) ALL');
  await exchange(c, 'r', 'SELECT INBOX');
  t.deepEqual(await exchange(c, 'u', 'FETCH $ UID'), ['u OK FETCH completed']);
  t.regex((await exchange(c, 'v', 'SORT RETURN (SAVE) (ARRIVAL) UTF-8 ALL')).pop()!, /^v BAD /);
});

test('SEARCHRES grammar: "$" anywhere among SEARCH keys expands to keys the compiler accepts or refuses with BAD, never "$" (property)', (t) => {
  const view = {} as SelectedMailbox;
  const key = fc.letrec<{ key: Token }>((tie) => ({
    key: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom<Token>(
        { t: 'atom', v: '$' },
        { t: 'atom', v: 'ALL' },
        { t: 'atom', v: 'SEEN' },
        { t: 'atom', v: 'OR' },
        { t: 'atom', v: 'NOT' },
        { t: 'atom', v: '1:3' },
        { t: 'atom', v: 'UID' },
      ),
      fc.array(tie('key'), { maxLength: 4 }).map((v): Token => ({ t: 'list', v })),
    ),
  })).key;
  fc.assert(
    fc.property(fc.array(key, { minLength: 1, maxLength: 6 }), fc.boolean(), (keys, withSaved) => {
      saveResult(view, withSaved ? [1, 2, 5] : []);
      const out = expandSavedKeys(view, keys);
      if (JSON.stringify(out).includes('"v":"$"')) return false;
      try {
        compileSearch(out);
      } catch (err) {
        return err instanceof ImapError && err.kind === 'BAD';
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.deepEqual(
    takeSave([
      { t: 'atom', v: 'RETURN' },
      { t: 'list', v: [{ t: 'atom', v: 'save' }] },
      { t: 'atom', v: 'ALL' },
    ]).only,
    true,
  );
});
