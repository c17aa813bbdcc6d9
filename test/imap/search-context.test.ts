// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267): PARTIAL, RETURN (UPDATE) with live ADDTO/REMOVEFROM
// while the context lives (our own STORE/EXPUNGE and another session's changes), CANCELUPDATE, the
// per-session bound (NOUPDATE), and BAD for malformed options. Raw transcripts, every line compared;
// a fast-check property for the PARTIAL grammar.
import test from 'ava';
import fc from 'fast-check';
import { parseCommand } from '../../services/imap/command-parser.js';
import { parseReturn, esearchLine } from '../../services/imap/commands/search.js';
import { ImapError } from '../../services/imap/imap-errors.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { closeMailFixtures, play } from '../core/line-transcript.js';
import { imapLab, login } from './transcript-lab.js';

test.after.always(async () => {
  await closeMailFixtures();
});

const SELECT5 = `
    C: s SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 5 EXISTS
    S: * 5 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 6] Predicted next UID
    S: s OK [READ-WRITE] SELECT completed
`;

test('SEARCH RETURN (UPDATE): ADDTO/REMOVEFROM follow our STOREs, REMOVEFROM comes before the EXPUNGEs it numbers, CANCELUPDATE ends it', async (t) => {
  const { open } = await imapLab(5);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    ${SELECT5}
    C: a SEARCH RETURN (UPDATE ALL) SEEN
    S: * ESEARCH (TAG "a")
    S: a OK SEARCH completed
    C: b STORE 1,2,4 +FLAGS.SILENT (\\Seen)
    S: * ESEARCH (TAG "a") ADDTO (0 1:2,4)
    S: b OK STORE completed
    C: c STORE 1 -FLAGS.SILENT (\\Seen)
    S: * ESEARCH (TAG "a") REMOVEFROM (0 1)
    S: c OK STORE completed
    C: d STORE 3:4 +FLAGS.SILENT (\\Deleted)
    S: d OK STORE completed
    C: e EXPUNGE
    S: * ESEARCH (TAG "a") REMOVEFROM (0 4)
    S: * 3 EXPUNGE
    S: * 3 EXPUNGE
    S: e OK EXPUNGE completed
    C: f UID SEARCH RETURN (UPDATE COUNT) UNSEEN
    S: * ESEARCH (TAG "f") UID COUNT 2
    S: f OK UID SEARCH completed
    C: g STORE 1:3 +FLAGS.SILENT (\\Seen)
    S: * ESEARCH (TAG "f") UID REMOVEFROM (0 1,5)
    S: * ESEARCH (TAG "a") ADDTO (0 1,3)
    S: g OK STORE completed
    C: h CANCELUPDATE "a"
    S: h OK CANCELUPDATE completed
    C: i STORE 1:3 -FLAGS.SILENT (\\Seen)
    S: * ESEARCH (TAG "f") UID ADDTO (0 1:2,5)
    S: i OK STORE completed
    C: j CANCELUPDATE "a"
    S: j BAD no live search with tag "a" (RFC 5267 section 4.3)
    C: k CANCELUPDATE "f"
    S: k OK CANCELUPDATE completed
    C: l STORE 1 +FLAGS.SILENT (\\Seen)
    S: l OK STORE completed
    `,
  );
});

test("a live search sees another session's EXPUNGE (REMOVEFROM before the EXPUNGE) and a delivery (ADDTO after the EXISTS); SORT contexts give positions in sort order", async (t) => {
  const { open, store } = await imapLab(5);
  const c = open();
  const other = open();
  await login(c);
  await login(other);
  await play(
    t,
    c,
    `
    ${SELECT5}
    C: a SEARCH RETURN (UPDATE) SUBJECT m
    S: * ESEARCH (TAG "a")
    S: a OK SEARCH completed
    C: b SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 ALL
    S: * ESEARCH (TAG "b") ALL 5,4,3,2,1
    S: b OK SORT completed
    `,
  );
  await play(
    t,
    other,
    `
    C: x SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 5 EXISTS
    S: * 0 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 6] Predicted next UID
    S: x OK [READ-WRITE] SELECT completed
    C: y STORE 2 +FLAGS.SILENT (\\Deleted)
    S: y OK STORE completed
    C: z EXPUNGE
    S: * 2 EXPUNGE
    S: z OK EXPUNGE completed
    `,
  );
  await store.append('alice', 'INBOX', Buffer.from('From: bob@lab.test\r\nSubject: m35\r\n\r\nbody\r\n'));
  await play(
    t,
    c,
    `
    C: n NOOP
    S: * ESEARCH (TAG "a") REMOVEFROM (0 2)
    S: * ESEARCH (TAG "b") REMOVEFROM (4 2)
    S: * 2 FETCH (FLAGS (\\Deleted \\Recent))
    S: * 2 EXPUNGE
    S: * 5 EXISTS
    S: * 5 RECENT
    S: * ESEARCH (TAG "a") ADDTO (0 5)
    S: * ESEARCH (TAG "b") ADDTO (3 5)
    S: n OK NOOP completed
    C: e EXAMINE INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 5 EXISTS
    S~ \\* \\d RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 7] Predicted next UID
    S: e OK [READ-ONLY] EXAMINE completed
    C: f CANCELUPDATE "a"
    S: f BAD no live search with tag "a" (RFC 5267 section 4.3)
    `,
  );
});

test(`PARTIAL answers, at most ${IMAP_LIMITS.maxSearchContexts} live contexts (then NO [NOUPDATE]), and BAD for malformed options`, async (t) => {
  const { open } = await imapLab(5);
  const c = open();
  await login(c);
  const max = IMAP_LIMITS.maxSearchContexts;
  const fill = Array.from({ length: max }, (_, i) => `C: u${i} SEARCH RETURN (UPDATE) SEEN\nS: * ESEARCH (TAG "u${i}")\nS: u${i} OK SEARCH completed`).join(
    '\n',
  );
  await play(
    t,
    c,
    `
    ${SELECT5}
    C: a SEARCH RETURN (PARTIAL 2:4) ALL
    S: * ESEARCH (TAG "a") PARTIAL (2:4 2:4)
    S: a OK SEARCH completed
    C: b SEARCH RETURN (PARTIAL 4:2 COUNT) 1:2,4:5
    S: * ESEARCH (TAG "b") PARTIAL (2:4 2,4:5) COUNT 4
    S: b OK SEARCH completed
    C: c UID SEARCH RETURN (PARTIAL 6:9) ALL
    S: * ESEARCH (TAG "c") UID PARTIAL (6:9 NIL)
    S: c OK UID SEARCH completed
    C: d SORT RETURN (PARTIAL 1:2) (REVERSE SUBJECT) UTF-8 ALL
    S: * ESEARCH (TAG "d") PARTIAL (1:2 5,4)
    S: d OK SORT completed
    C: e SEARCH RETURN (PARTIAL 1:2 UPDATE) ALL
    S: * ESEARCH (TAG "e") PARTIAL (1:2 1:2)
    S: * NO [NOUPDATE "e"] Live updates of a PARTIAL result are not offered
    S: e OK SEARCH completed
    ${fill}
    C: v SEARCH RETURN (UPDATE) SEEN
    S: * ESEARCH (TAG "v")
    S: * NO [NOUPDATE "v"] Too many live searches (at most ${max}); CANCELUPDATE one first
    S: v OK SEARCH completed
    C: w SEARCH RETURN (PARTIAL 1) ALL
    S: w BAD PARTIAL needs a range of positions low:high, numbers from 1 to 4294967295 (RFC 5267 section 4.4)
    C: x SEARCH RETURN (PARTIAL 1:*) ALL
    S: x BAD PARTIAL needs a range of positions low:high, numbers from 1 to 4294967295 (RFC 5267 section 4.4)
    C: y SEARCH RETURN (PARTIAL 0:3) ALL
    S: y BAD PARTIAL needs a range of positions low:high, numbers from 1 to 4294967295 (RFC 5267 section 4.4)
    C: z SEARCH RETURN (ALL PARTIAL 1:3) ALL
    S: z BAD RETURN cannot have both PARTIAL and ALL (RFC 5267 section 4.4)
    C: q CANCELUPDATE
    S: q BAD CANCELUPDATE: wrong number of arguments
    `,
  );
});

test('PARTIAL grammar: any low:high gives the slice of the result at those positions, anything else BAD (property)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 30 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (raw, a, b) => {
      const nums = [...new Set(raw)].sort((x, y) => x - y);
      const r = parseReturn(parseCommand(Buffer.from(`t SEARCH RETURN (PARTIAL ${a}:${b}) ALL`)).args);
      const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
      const line = esearchLine('t', false, r.options!, nums, undefined, r.partial);
      const want = nums.slice(lo - 1, hi);
      const m = /PARTIAL \((\d+):(\d+) ([^)]*)\)$/.exec(line);
      if (!m || Number(m[1]) !== lo || Number(m[2]) !== hi) return false;
      if (want.length === 0) return m[3] === 'NIL';
      const got = m[3].split(',').flatMap((p) => {
        const [x, y] = p.split(':').map(Number);
        return y === undefined ? [x] : Array.from({ length: y - x + 1 }, (_, k) => x + k);
      });
      return got.join() === want.join();
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), (junk) => {
      const text = junk.replace(/[\r\n\0()"{\\ ]/g, '');
      if (/^\d{1,10}:\d{1,10}$/.test(text)) return true;
      try {
        parseReturn(parseCommand(Buffer.from(`t SEARCH RETURN (PARTIAL ${text || '""'}) ALL`, 'latin1')).args);
        return false;
      } catch (err) {
        return err instanceof ImapError && err.kind === 'BAD';
      }
    }),
    { numRuns: 500 },
  );
  t.pass();
});
