// BODYSTRUCTURE, BODY, ENVELOPE and BODY[section] over a corpus of tricky messages (nested
// multiparts, message/rfc822 attachments, encoded words, groups, source routes, missing headers, 8-bit
// bodies, multipart/digest). The expected strings in corpus/expected.json were checked item by item
// against Dovecot 2.3.19 (same messages, same FETCH) and against RFC 3501 section 7.4.2; they agree
// except that Dovecot sends strings containing '"' as literals (so do we now: the JSON shows the
// literal form).
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { parseMime, parseParamHeader } from '../../services/imap/mime.js';
import { bodyStructure } from '../../services/imap/body-structure.js';
import { envelope, parseAddressList } from '../../services/imap/envelope.js';
import { extractSection, parseSection } from '../../services/imap/fetch-body-section.js';
import { compileSearch, evaluate, MessageText, type SearchMessage } from '../../services/imap/search.js';
import { parseCommand } from '../../services/imap/command-parser.js';

const dir = join(PROJECT_ROOT, 'test', 'imap', 'corpus');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { bodystructure: string; body: string; envelope: string }>;
const load = (f: string) => readFileSync(join(dir, f));

for (const [file, want] of Object.entries(expected)) {
  test(`corpus ${file}: BODYSTRUCTURE, BODY and ENVELOPE`, (t) => {
    const buf = load(file);
    const root = parseMime(buf);
    t.is(bodyStructure(buf, root, true), want.bodystructure);
    t.is(bodyStructure(buf, root, false), want.body);
    t.is(envelope(root.headers), want.envelope);
  });
}

test('corpus: the hand-checked essentials are in the expected strings', (t) => {
  // Group syntax -> (NIL NIL "team" NIL) ... (NIL NIL NIL NIL), no SP between addresses (RFC 3501 section 9).
  t.true(
    expected['02-attached-message.eml'].bodystructure.includes(
      '((NIL NIL "team" NIL)(NIL NIL "dave" "lab.test")("Eve E." NIL "eve" "lab.test")(NIL NIL NIL NIL))',
    ),
  );
  // Encoded words stay encoded in ENVELOPE.
  t.true(expected['02-attached-message.eml'].envelope.includes('"=?UTF-8?B?VsOkbGtvbW1lbg==?= und =?ISO-8859-1?Q?Gr=FC=DFe?="'));
  // Missing From: sender and reply-to NIL too; missing Date NIL.
  t.is(expected['03-missing-headers.eml'].envelope, '(NIL "no from, no date" NIL NIL NIL NIL NIL NIL NIL NIL)');
  // multipart/digest parts default to message/rfc822 (RFC 2046 section 5.1.5).
  t.true(expected['05-digest.eml'].bodystructure.startsWith('(("message" "rfc822"'));
  // RFC 2231 continuations joined, extended form kept.
  t.true(expected['01-nested-multipart.eml'].bodystructure.includes(`("attachment" ("filename*" "utf-8''r%C3%A9sume.pdf"))`));
});

function section(file: string, spec: string): string | undefined {
  const buf = load(file);
  const s = parseSection(spec);
  if (!s) throw new Error(`bad section ${spec}`);
  return extractSection(buf, parseMime(buf), s)?.toString('latin1');
}

test('BODY[section]: part paths, MIME, HEADER and TEXT of an attached message, leaf x.1', (t) => {
  t.is(section('02-attached-message.eml', '1'), 'See the attached message.\r\n');
  t.is(section('02-attached-message.eml', '1.1'), 'See the attached message.\r\n', 'x.1 of a leaf is the leaf (as Dovecot)');
  t.is(section('02-attached-message.eml', '2.MIME'), 'Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n');
  t.regex(section('02-attached-message.eml', '2.HEADER')!, /^From: Carol <carol@lab\.test>\r\n[\s\S]*boundary="b2"\r\n\r\n$/);
  t.is(section('02-attached-message.eml', '2.1.1'), 'inner text\r\nline two');
  t.is(section('02-attached-message.eml', '2.1'), 'inner text\r\nline two', '2.1 is the first part of the attached multipart');
  t.is(section('02-attached-message.eml', '2.2'), '<b>inner</b>');
  t.is(section('02-attached-message.eml', '3'), undefined);
  t.is(section('01-nested-multipart.eml', '1.2'), '<p>Hello</p>');
  t.is(section('01-nested-multipart.eml', '1.2.MIME'), 'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n');
  t.is(section('03-missing-headers.eml', 'TEXT'), 'Just a body\r\nwith no MIME headers at all.\r\n');
  t.is(section('03-missing-headers.eml', '1'), 'Just a body\r\nwith no MIME headers at all.\r\n');
});

test('BODY[HEADER.FIELDS] and .NOT keep folded lines and end with the blank line', (t) => {
  t.is(section('01-nested-multipart.eml', 'HEADER.FIELDS (subject DATE)'), 'Subject: Nested multipart\r\nDate: Mon, 2 Nov 2026 09:10:11 +0100\r\n\r\n');
  t.is(section('01-nested-multipart.eml', '2.HEADER.FIELDS (X)'), undefined, 'part 2 is not a message');
  const not = section('01-nested-multipart.eml', 'HEADER.FIELDS.NOT (From To Cc Subject Date Message-ID)')!;
  t.is(not, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n');
  t.is(parseSection('HEADER.FIELDS (From "To")')!.text, 'HEADER.FIELDS (FROM TO)');
  for (const bad of ['MIME', 'HEADER.FIELDS', '0', '1.0', 'TEXT (a)', 'FOO', '1.']) t.is(parseSection(bad), undefined, bad);
});

test('parameters: quoting, comments, RFC 2231 continuations', (t) => {
  t.deepEqual(parseParamHeader('text/plain; charset="utf-8" (comment); format=flowed'), {
    value: 'text/plain',
    params: [
      ['charset', 'utf-8'],
      ['format', 'flowed'],
    ],
  });
  t.deepEqual(parseParamHeader(`attachment; filename*0="a b"; filename*1="c"`).params, [['filename', 'a bc']]);
  t.deepEqual(parseParamHeader(`attachment; filename*=iso-8859-1'en'%E9t%E9.txt`).params, [['filename*', `iso-8859-1'en'%E9t%E9.txt`]]);
  t.deepEqual(parseParamHeader('x; a="semi;colon"').params, [['a', 'semi;colon']]);
});

test('addresses: groups, routes, quoted names, comments, bare addresses', (t) => {
  t.deepEqual(parseAddressList('A Group:a@x.test, "B, b" <b@y.test>;, c@z.test (C comment)'), [
    { name: null, adl: null, mailbox: 'A Group', host: null },
    { name: null, adl: null, mailbox: 'a', host: 'x.test' },
    { name: 'B, b', adl: null, mailbox: 'b', host: 'y.test' },
    { name: null, adl: null, mailbox: null, host: null },
    // A bare address's trailing comment is its display name (as Dovecot does; imaptest fetch-envelope).
    { name: 'C comment', adl: null, mailbox: 'c', host: 'z.test' },
  ]);
  t.deepEqual(parseAddressList('<u (c1)@ (c2) h.test> (outer)'), [{ name: null, adl: null, mailbox: 'u', host: 'h.test' }]);
  t.deepEqual(parseAddressList('<@r1,@r2:u@h>'), [{ name: null, adl: '@r1,@r2', mailbox: 'u', host: 'h' }]);
  t.deepEqual(parseAddressList('undisclosed-recipients:;'), [
    { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
    { name: null, adl: null, mailbox: null, host: null },
  ]);
});

test('property: MIME parsing, structure and sections never throw on random input', (t) => {
  const piece = fc.constantFrom(
    'Content-Type: multipart/mixed; boundary=x\r\n',
    '--x\r\n',
    '--x--\r\n',
    '\r\n',
    'Content-Type: message/rfc822\r\n',
    'a: b\r\n',
    ' folded\r\n',
    'body\n',
    '\r',
    '=?x?B?',
    '"',
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), fc.uint8Array({ maxLength: 50 }), (parts, bytes) => {
      for (const buf of [Buffer.from(parts.join(''), 'latin1'), Buffer.from(bytes)]) {
        const root = parseMime(buf);
        bodyStructure(buf, root, true);
        envelope(root.headers);
        for (const spec of ['1', '1.1', '2.MIME', 'TEXT', '1.HEADER', 'HEADER.FIELDS (a)']) extractSection(buf, root, parseSection(spec)!);
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

// ---- SEARCH evaluation ----

function msgOf(raw: string, over: Partial<SearchMessage> = {}): { m: SearchMessage; text: MessageText } {
  const buf = Buffer.from(raw);
  const text = new MessageText(buf);
  const m: SearchMessage = {
    seq: 1,
    uid: 10,
    flags: ['\\Seen', 'work'],
    recent: false,
    internalDate: Date.UTC(2026, 10, 2, 12),
    size: buf.length,
    indexedHeader: (f) => (['subject', 'from', 'to', 'cc', 'bcc', 'date'].includes(f) ? text.headerValues(f)[0] : null),
    ...over,
  };
  return { m, text };
}

function matches(keys: string, raw: string, over: Partial<SearchMessage> = {}): boolean {
  const tree = compileSearch(parseCommand(Buffer.from(`t SEARCH ${keys}`)).args);
  const { m, text } = msgOf(raw, over);
  const scope = { maxSeq: 5, maxUid: 20 };
  const cheap = evaluate(tree, m, scope, undefined, new Map());
  const full = evaluate(tree, m, scope, text, new Map());
  if (cheap !== undefined && cheap !== full) throw new Error('cheap and full evaluation disagree');
  return full === true;
}

const raw =
  'From: Alice <alice@lab.test>\r\nTo: bob@lab.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from the lab\r\nDate: Mon, 2 Nov 2026 23:30:00 -0800\r\nX-Tag: Important\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=C3=A4se and Bread\r\n';

test('SEARCH: flags, keywords, sizes, sets, dates', (t) => {
  t.true(matches('SEEN KEYWORD work UNFLAGGED UNDELETED', raw));
  t.false(matches('UNSEEN', raw));
  t.false(matches('UNKEYWORD WORK', raw), 'keywords compare case-insensitively');
  t.true(matches(`LARGER 10 SMALLER ${raw.length + 1}`, raw));
  t.false(matches(`LARGER ${raw.length}`, raw));
  t.true(matches('1 UID 5:15', raw));
  t.false(matches('2:*', raw, { seq: 1 }));
  t.true(matches('ON 2-Nov-2026 SINCE 1-Nov-2026 BEFORE 3-Nov-2026', raw));
  t.true(matches('SENTON 2-Nov-2026', raw), 'the Date header day as written, disregarding the zone');
  t.false(matches('SENTSINCE 3-Nov-2026', raw));
  t.true(matches('NEW', raw, { recent: true, flags: [] }));
  t.true(matches('OLD', raw));
  t.true(matches('RECENT', raw, { recent: true }));
});

test('SEARCH: header and text keys are case-insensitive substrings; encoded words and QP decoded', (t) => {
  t.true(matches('FROM ALICE', raw));
  t.true(matches('SUBJECT "grüße"', raw), 'encoded words in Subject are decoded');
  t.true(matches('HEADER X-Tag important', raw));
  t.true(matches('HEADER X-Tag ""', raw), 'empty string: the field exists');
  t.false(matches('HEADER X-Other ""', raw));
  t.true(matches('BODY bread', raw));
  t.true(matches('BODY "käse"', raw), 'quoted-printable body decoded');
  t.false(matches('BODY alice', raw), 'BODY does not look at headers');
  t.true(matches('TEXT alice', raw), 'TEXT does');
  t.true(matches('CHARSET UTF-8 TEXT "KÄSE"', raw), 'non-ASCII case folding on decoded text');
});

test('SEARCH: nested OR, NOT and parenthesised lists', (t) => {
  t.true(matches('OR (FROM nobody) (OR SUBJECT xyz TO bob)', raw));
  t.false(matches('NOT (FROM alice SEEN)', raw));
  t.true(matches('NOT NOT SEEN', raw));
  t.true(matches('(SEEN (FROM alice)) OR DELETED DRAFT', raw) === false);
  t.true(matches('(SEEN (FROM alice)) OR DELETED SEEN', raw));
  for (const bad of ['FOO', 'OR SEEN', 'BEFORE 2026-11-02', 'LARGER x', 'CHARSET KOI8-R ALL', '']) {
    t.throws(() => compileSearch(parseCommand(Buffer.from(`t SEARCH ${bad}`.trim())).args), undefined, bad);
  }
});
