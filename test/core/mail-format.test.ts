// The shared mail formats: dates (RFC 5322, IMAP date-time and date) and the one header-field parser.
// Round trips and hostile input as properties, plus the exact forms the protocols send.
import test from 'ava';
import fc from 'fast-check';
import { imapDateTime, monthIndex, parseImapDate, parseImapDateTime, rfc5322Date, rfc5322Day } from '../../core/mail-format/dates.js';
import { forEachHeaderField, parseHeaderFields } from '../../core/mail-format/header-fields.js';
import { INDEXED_HEADERS, parseHeaderFields as indexedFields } from '../../core/mail-store/header-fields.js';

const INDEXED = new Set<string>(INDEXED_HEADERS);

const DAY = 86_400_000;
// Whole seconds between 1970 and 9999 (four-digit years, as both formats write them).
const instant = fc.integer({ min: 0, max: Math.floor(Date.UTC(9999, 11, 31) / 1000) }).map((s) => s * 1000);

test('dates: the forms SMTP trace fields and IMAP INTERNALDATE send', (t) => {
  const d = Date.UTC(2026, 10, 25, 15, 39, 43);
  t.is(rfc5322Date(new Date(d)), 'Wed, 25 Nov 2026 15:39:43 +0000');
  t.is(imapDateTime(d), '25-Nov-2026 15:39:43 +0000');
  t.is(imapDateTime(Date.UTC(1996, 6, 7, 2, 4, 5)), '07-Jul-1996 02:04:05 +0000');
  t.is(parseImapDateTime('17-Jul-1996 02:44:25 -0700'), Date.UTC(1996, 6, 17, 9, 44, 25));
  t.is(parseImapDateTime(' 7-jul-1996 02:44:25 +0000'), Date.UTC(1996, 6, 7, 2, 44, 25));
  t.is(parseImapDate('1-Feb-1994'), Date.UTC(1994, 1, 1) / DAY);
  t.is(rfc5322Day('Mon, 31 Dec 2029 23:59:59 -1200'), Date.UTC(2029, 11, 31) / DAY, 'the day as written, in its own zone');
  t.is(rfc5322Day('1 Jan 99 00:00 GMT'), Date.UTC(1999, 0, 1) / DAY);
  t.is(monthIndex('DEC'), 11);
  t.is(monthIndex('Dez'), -1);
  for (const bad of ['', '17-Jul-1996', '32-Foo-1996 02:44:25 +0000', '17-Jul-1996 02:44:25', '17-Jul-1996 02:44:25 +07'])
    t.is(parseImapDateTime(bad), undefined, bad);
  t.is(parseImapDate('0-Jan-2000'), undefined);
});

test('dates: IMAP date-time and RFC 5322 dates round-trip; parsers never throw', (t) => {
  fc.assert(
    fc.property(instant, (ms) => {
      const d = new Date(ms);
      return (
        parseImapDateTime(imapDateTime(ms)) === ms &&
        Date.parse(rfc5322Date(d)) === ms &&
        rfc5322Day(rfc5322Date(d)) === Math.floor(ms / DAY) &&
        parseImapDate(imapDateTime(ms).slice(0, 11)) === Math.floor(ms / DAY)
      );
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      parseImapDateTime(s);
      parseImapDate(s);
      rfc5322Day(s);
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('header fields: unfolding, names in lower case, values trimmed, the end of the header, malformed lines', (t) => {
  const head =
    'Subject: one\r\n two\r\nFrom : a@b\r\nX-Empty:\r\nno colon here\r\n continued\r\nBad Name: x\r\n\tleading\r\nTo: c@d\r\n\r\nBody: not a field\r\n';
  t.deepEqual(parseHeaderFields(head), [
    { key: 'subject', value: 'one two' },
    { key: 'from', value: 'a@b' },
    { key: 'x-empty', value: '' },
    { key: 'to', value: 'c@d' },
  ]);
  t.deepEqual(parseHeaderFields(' orphan continuation\nDate: x\n\n'), [{ key: 'date', value: 'x' }]);
  const seen: string[] = [];
  forEachHeaderField('A: 1\r\nB: 2\r\nC: 3\r\n', (k) => (seen.push(k), k !== 'b'));
  t.deepEqual(seen, ['a', 'b'], 'the visitor stops the walk');
  // The mail store's index takes the first of each indexed field through the same parser.
  t.deepEqual(indexedFields(Buffer.from('Subject: first\r\nsubject: second\r\nX-Other: y\r\nMessage-ID:\r\n <id@x>\r\n\r\nSubject: body\r\n')), {
    subject: 'first',
    'message-id': '<id@x>',
  });
});

test('header fields: any folding of generated fields parses back to the same fields; hostile input never throws', (t) => {
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
  const word = fc.stringMatching(/^[\x21-\x7e]{1,10}$/);
  const field = fc.record({ name, words: fc.array(word, { minLength: 1, maxLength: 6 }), folds: fc.array(fc.boolean(), { maxLength: 6 }) });
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), fc.boolean(), (fields, lf) => {
      const eol = lf ? '\n' : '\r\n';
      const text =
        fields.map((f) => `${f.name}: ${f.words.map((w, i) => (i === 0 ? w : `${f.folds[i] ? eol : ''} ${w}`)).join('')}`).join(eol) +
        `${eol}${eol}ignored: body`;
      const parsed = parseHeaderFields(text);
      return parsed.length === fields.length && parsed.every((p, i) => p.key === fields[i].name.toLowerCase() && p.value === fields[i].words.join(' ').trim());
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => Array.isArray(parseHeaderFields(s))),
    { numRuns: 2000 },
  );
  t.pass();
});

test('header fields: the mail store index and the text parser read any head alike (one scanner)', (t) => {
  const line = fc.oneof(
    fc.constantFrom('Subject: a', 'From: <x@y>', 'to : b', ' folded', '\tfolded', 'no colon', 'Bad Name: v', 'Message-ID:', 'date: d', ''),
    fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), (lines, lf) => {
      const text = lines.join(lf ? '\n' : '\r\n');
      const first: Record<string, string> = {};
      for (const f of parseHeaderFields(text)) if (INDEXED.has(f.key) && first[f.key] === undefined) first[f.key] = f.value;
      t.deepEqual({ ...indexedFields(Buffer.from(text)) }, first);
    }),
    { numRuns: 500 },
  );
});
