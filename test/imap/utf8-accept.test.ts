// UTF8=ACCEPT (RFC 6855): ENABLE, UTF-8 quoted strings in mailbox names and SEARCH afterwards, names
// no longer modified UTF-7, APPEND UTF8 (literal8), and the refusals before ENABLE; invalid UTF-8 is
// BAD with a clear text. Raw transcripts (every line compared) and fast-check properties for the
// grammar additions.
import test from 'ava';
import fc from 'fast-check';
import { parseCommand, ParseError } from '../../services/imap/command-parser.js';
import { mailbox } from '../../services/imap/commands/args.js';
import { eightBitHeader, parseAppendMessages } from '../../services/imap/commands/append.js';
import { utf8Keys } from '../../services/imap/commands/search.js';
import { ImapError } from '../../services/imap/imap-errors.js';
import { isValidUtf8 } from '../../services/imap/utf8.js';
import { closeMailFixtures, play } from '../core/line-transcript.js';
import { imapLab, login, writeLiteral } from './transcript-lab.js';

test.after.always(async () => {
  await closeMailFixtures();
});

/** UTF-8 text as the wire's one char per octet. */
const u8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

test('before ENABLE: names in modified UTF-7, APPEND UTF8 is BAD, 8-bit header octets are NO (RFC 6855 sections 3, 4)', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  const body = u8('Subject: Grüße\r\n\r\nhallo\r\n');
  await play(
    t,
    c,
    `
    C: a CREATE "${u8('Über')}"
    S: a OK CREATE completed
    C: b LIST "" "*ber"
    S: * LIST (\\HasNoChildren) "." &ANw-ber
    S: b OK LIST completed
    `,
  );
  writeLiteral(c, `c APPEND INBOX UTF8 (~{${body.length}+}\r\n`, body, ')');
  await play(t, c, 'S: c BAD APPEND UTF8 (...) needs ENABLE UTF8=ACCEPT first (RFC 6855 section 4)');
  writeLiteral(c, `d APPEND INBOX {${body.length}+}\r\n`, body, '');
  await play(t, c, 'S: d NO 8-bit characters in the message header need ENABLE UTF8=ACCEPT and APPEND UTF8 (RFC 6855 section 4)');
  writeLiteral(c, `d2 APPEND INBOX CATENATE (TEXT {${body.length}+}\r\n`, body, ')');
  await play(t, c, 'S: d2 NO 8-bit characters in the message header need ENABLE UTF8=ACCEPT and APPEND UTF8 (RFC 6855 section 4)');
});

test('after ENABLE UTF8=ACCEPT: UTF-8 names both ways, "&" literal, APPEND UTF8 (literal8) stored as sent, SEARCH with a UTF-8 quoted string', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  const body = u8('From: jürgen@lab.test\r\nSubject: Grüße aus Köln\r\n\r\nhallo\r\n');
  await play(
    t,
    c,
    `
    C: e ENABLE UTF8=ACCEPT
    S: * ENABLED UTF8=ACCEPT
    S: e OK ENABLE completed
    C: a CREATE "${u8('Köln')}"
    S: a OK CREATE completed
    C: b CREATE "A&B"
    S: b OK CREATE completed
    C: c LIST "" ("A&*" "K*")
    S: * LIST (\\HasNoChildren) "." A&B
    S: * LIST (\\HasNoChildren) "." "${u8('Köln')}"
    S: c OK LIST completed
    `,
  );
  writeLiteral(c, `d APPEND "${u8('Köln')}" UTF8 (~{${body.length}+}\r\n`, body, ')');
  await play(
    t,
    c,
    `
    S~ d OK \\[APPENDUID \\d+ 1\\] APPEND completed
    C: f SELECT "${u8('Köln')}"
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 1 EXISTS
    S: * 1 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 2] Predicted next UID
    S: f OK [READ-WRITE] SELECT completed
    C: g SEARCH SUBJECT "${u8('grüße')}"
    S: * SEARCH 1
    S: g OK SEARCH completed
    C: h SEARCH FROM "${u8('jürgen')}"
    S: * SEARCH 1
    S: h OK SEARCH completed
    C: i FETCH 1 RFC822.SIZE
    S: * 1 FETCH (RFC822.SIZE ${body.length})
    S: i OK FETCH completed
    C: j SEARCH CHARSET UTF-8 SUBJECT x
    S: j BAD SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT: strings are UTF-8 (RFC 6855 section 3)
    C: k SEARCH SUBJECT "\xc3\x28"
    S: k BAD SEARCH: invalid UTF-8 (RFC 3629; RFC 6855 section 3 requires BAD)
    C: l CREATE "bad\xed\xa0\x80name"
    S: l BAD mailbox name: invalid UTF-8 (RFC 3629)
    C: m CREATE "over\xc0\xaflong"
    S: m BAD mailbox name: invalid UTF-8 (RFC 3629)
    C: n CREATE "${u8('line\u2028sep')}"
    S: n BAD mailbox name: control, line or paragraph separator characters are not allowed (RFC 6855 section 3)
    `,
  );
  writeLiteral(c, 'o APPEND INBOX UTF8 ({3+}\r\n', 'abc', ')');
  await play(
    t,
    c,
    `
    S: o BAD UTF8 takes one literal8 in parentheses: UTF8 (~{n}...) (RFC 6855 section 4)
    `,
  );
});

test('invalid UTF-8 in a mailbox name is BAD before ENABLE too (no mailbox named with U+FFFD)', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: a CREATE "caf\xe9"
    S: a BAD mailbox name: invalid UTF-8 (RFC 3629)
    C: b SELECT {4+}
    C: caf\xe9
    S: b BAD mailbox name: invalid UTF-8 (RFC 3629)
    `,
  );
});

test('isValidUtf8 agrees with a strict round trip through UTF-8 (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const buf = Buffer.from(bytes);
      return isValidUtf8(buf) === Buffer.from(buf.toString('utf8'), 'utf8').equals(buf);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => isValidUtf8(Buffer.from(s, 'utf8'))),
    { numRuns: 500 },
  );
  t.pass();
});

test('mailbox names after ENABLE: any quoted octets give the UTF-8 name back or BAD, BAD exactly for invalid UTF-8 or forbidden characters (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 30 }), (bytes) => {
      const raw = Buffer.from(bytes.filter((b) => b !== 0x22 && b !== 0x5c && b !== 0x0d && b !== 0x0a && b !== 0));
      if (raw.length === 0) return true;
      const cmd = parseCommand(Buffer.concat([Buffer.from('t SELECT "'), raw, Buffer.from('"')]));
      const text = raw.toString('utf8');
      const forbidden = !isValidUtf8(raw) || /[\u0000-\u001f\u007f-\u009f\u2028\u2029\uFFFD]/.test(text);
      try {
        const name = mailbox(cmd.args[0], true);
        return !forbidden && (name === text || (text.toUpperCase() === 'INBOX' && name === 'INBOX') || /^inbox\./i.test(text));
      } catch (err) {
        return forbidden && err instanceof ImapError && err.kind === 'BAD';
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('APPEND UTF8 grammar: a valid utf8-literal parses to its octets; token soup never throws anything but BAD/parse errors (property)', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), fc.boolean(), (body, flags) => {
      const data = Buffer.from(`Subject: ${body}\r\n\r\nx`, 'utf8');
      const cmd = parseCommand(Buffer.concat([Buffer.from(`t APPEND INBOX ${flags ? '(\\Seen) ' : ''}UTF8 (~{${data.length}}\r\n`), data, Buffer.from(')')]));
      const got = parseAppendMessages(cmd.args.slice(1), true);
      return got.length === 1 && got[0].utf8 === true && got[0].data.equals(data) && got[0].flags.length === (flags ? 1 : 0);
    }),
    { numRuns: 300 },
  );
  const tokenArb = fc.constantFrom(
    'UTF8',
    '(~{2}\r\nab)',
    '({2}\r\nab)',
    '()',
    '(~{1}\r\n\0)',
    'CATENATE',
    '(UTF8 (~{1}\r\nx))',
    '(TEXT {1}\r\nx UTF8 x)',
    '"x"',
    '(\\Seen)',
  );
  fc.assert(
    fc.property(fc.array(tokenArb, { maxLength: 8 }), fc.boolean(), (toks, utf8) => {
      try {
        const cmd = parseCommand(Buffer.from(`t APPEND INBOX ${toks.join(' ')}`));
        parseAppendMessages(cmd.args.slice(1), utf8);
      } catch (err) {
        return err instanceof ParseError || (err instanceof ImapError && err.kind === 'BAD');
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('SEARCH keys after ENABLE: CHARSET is BAD, invalid UTF-8 anywhere (nested too) is BAD, valid UTF-8 passes (property)', (t) => {
  const bad = (f: () => void): boolean => {
    try {
      f();
      return false;
    } catch (err) {
      return err instanceof ImapError && err.kind === 'BAD';
    }
  };
  t.true(bad(() => utf8Keys(parseCommand(Buffer.from('t SEARCH CHARSET UTF-8 ALL')).args)));
  t.true(bad(() => utf8Keys(parseCommand(Buffer.from('t SEARCH OR SUBJECT a (BODY "\xff")', 'latin1')).args)));
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (s) => {
      const clean = s.replace(/["\\\r\n\0]/g, '');
      const cmd = parseCommand(Buffer.concat([Buffer.from('t SEARCH OR (SUBJECT "'), Buffer.from(clean, 'utf8'), Buffer.from('") ALL')]));
      return !bad(() => utf8Keys(cmd.args));
    }),
    { numRuns: 300 },
  );
  t.true(eightBitHeader(Buffer.from('Subject: \xe4\r\n\r\nx', 'latin1')));
  t.false(eightBitHeader(Buffer.from('Subject: a\r\n\r\n\xe4', 'latin1')));
  t.false(eightBitHeader(Buffer.from('Subject: a\n\n\xe4', 'latin1')));
});
