// CONDSTORE and QRESYNC (RFC 7162) and ENABLE (RFC 5161): raw transcripts after the RFC's examples
// (every line compared), a second session's changes seen with MODSEQ and as VANISHED, and hostile
// parameters answered BAD with a clear text.
import test from 'ava';
import { closeMailFixtures, play } from '../core/line-transcript.js';
import { imapLab, login, stopExtraStores, untilTagged } from './transcript-lab.js';

test.after.always(async () => {
  await stopExtraStores();
  await closeMailFixtures();
});

test('ENABLE (RFC 5161): only what the table knows is enabled, once; ENABLED lists what this command turned on', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: a ENABLE X-UNKNOWN CONDSTORE
    S: * ENABLED CONDSTORE
    S: a OK ENABLE completed
    C: b ENABLE QRESYNC CONDSTORE
    S: * ENABLED QRESYNC
    S: b OK ENABLE completed
    C: c ENABLE QRESYNC
    S: * ENABLED
    S: c OK ENABLE completed
    `,
  );
});

test('CONDSTORE: SELECT (CONDSTORE) reports HIGHESTMODSEQ; FETCH MODSEQ and CHANGEDSINCE; STATUS HIGHESTMODSEQ (RFC 7162 3.1.2, 3.1.4, 3.1.7)', async (t) => {
  const { open, store } = await imapLab(3);
  const c = open();
  await login(c);
  const h0 = (await store.status('alice', 'INBOX')).highestModseq;
  const mods = (await store.open('alice', 'INBOX')).messages.map((m) => m.modseq);
  t.deepEqual(mods, [h0 - 2, h0 - 1, h0]);
  await play(
    t,
    c,
    `
    C: s STATUS INBOX (MESSAGES HIGHESTMODSEQ)
    S: * STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ ${h0})
    S: s OK STATUS completed
    C: a EXAMINE INBOX (CONDSTORE)
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 3 EXISTS
    S: * 3 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 4] Predicted next UID
    S: * OK [HIGHESTMODSEQ ${h0}] Highest mailbox mod-sequence
    S: a OK [READ-ONLY] EXAMINE completed
    C: b FETCH 1:* (FLAGS MODSEQ)
    S: * 1 FETCH (FLAGS () MODSEQ (${h0 - 2}))
    S: * 2 FETCH (FLAGS () MODSEQ (${h0 - 1}))
    S: * 3 FETCH (FLAGS () MODSEQ (${h0}))
    S: b OK FETCH completed
    C: c UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h0 - 1})
    S: * 3 FETCH (UID 3 FLAGS () MODSEQ (${h0}))
    S: c OK UID FETCH completed
    C: d FETCH 1:* (FLAGS) (CHANGEDSINCE ${h0})
    S: d OK FETCH completed
    `,
  );
});

test('STORE UNCHANGEDSINCE (RFC 7162 3.1.3 examples): conditional stores, MODIFIED, .SILENT still reports MODSEQ, another session sees MODSEQ', async (t) => {
  const { open, store } = await imapLab(4);
  const c = open();
  const other = open();
  await login(c);
  await login(other);
  const h0 = (await store.status('alice', 'INBOX')).highestModseq;
  other.write('o SELECT INBOX\r\n');
  await untilTagged(other, 'o');
  c.write('a SELECT INBOX (CONDSTORE)\r\n');
  t.true((await untilTagged(c, 'a')).includes(`* OK [HIGHESTMODSEQ ${h0}] Highest mailbox mod-sequence`));
  // Another session changes message 2: its mod-sequence goes above h0.
  await store.updateFlags('alice', 'INBOX', [2], 'add', ['$Processed']);
  await play(
    t,
    c,
    `
    C: b UID STORE 1,2,4 (UNCHANGEDSINCE ${h0}) +FLAGS.SILENT (\\Deleted)
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Processed)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Processed \\*)] Flags permitted
    S: * 1 FETCH (UID 1 MODSEQ (${h0 + 2}))
    S: * 4 FETCH (UID 4 MODSEQ (${h0 + 2}))
    S: * 2 FETCH (UID 2 FLAGS ($Processed) MODSEQ (${h0 + 1}))
    S: b OK [MODIFIED 2] Conditional UID STORE completed
    C: c STORE 1:4 (UNCHANGEDSINCE 0) -FLAGS (\\Deleted)
    S: c OK [MODIFIED 1:4] Conditional STORE completed
    C: d STORE 2 (UNCHANGEDSINCE ${h0 + 1}) +FLAGS (\\Flagged)
    S: * 2 FETCH (UID 2 FLAGS (\\Flagged $Processed) MODSEQ (${h0 + 3}))
    S: d OK STORE completed
    `,
  );
  // The session without CONDSTORE sees plain FLAGS; after its first enabling command, UID and MODSEQ.
  await play(
    t,
    other,
    `
    C: p NOOP
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Processed)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Processed \\*)] Flags permitted
    S: * 2 FETCH (FLAGS (\\Flagged $Processed \\Recent))
    S: * 1 FETCH (FLAGS (\\Deleted \\Recent))
    S: * 4 FETCH (FLAGS (\\Deleted \\Recent))
    S: p OK NOOP completed
    C: q FETCH 1 (MODSEQ)
    S: * OK [HIGHESTMODSEQ ${h0 + 3}] Highest mailbox mod-sequence
    S: * 1 FETCH (MODSEQ (${h0 + 2}))
    S: q OK FETCH completed
    `,
  );
  await store.updateFlags('alice', 'INBOX', [3], 'add', ['\\Seen']);
  await play(
    t,
    other,
    `
    C: r NOOP
    S: * 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ (${h0 + 4}))
    S: r OK NOOP completed
    `,
  );
});

test('SEARCH MODSEQ (RFC 7162 3.1.5, 3.1.6, 3.1.9, 3.1.10): the highest mod-sequence of what matched, in SEARCH, ESEARCH and SORT', async (t) => {
  const { open, store } = await imapLab(3);
  const c = open();
  await login(c);
  const h0 = (await store.status('alice', 'INBOX')).highestModseq;
  await store.updateFlags('alice', 'INBOX', [1], 'add', ['\\Draft']);
  await play(
    t,
    c,
    `
    C: a SELECT INBOX
    S~ .*
    S~ .*
    S~ .*
    S~ .*
    S~ .*
    S~ .*
    S~ .*
    S: a OK [READ-WRITE] SELECT completed
    C: b SEARCH MODSEQ "/flags/\\\\draft" all ${h0}
    S: * OK [HIGHESTMODSEQ ${h0 + 1}] Highest mailbox mod-sequence
    S: * SEARCH 1 3 (MODSEQ ${h0 + 1})
    S: b OK SEARCH completed
    C: c UID SEARCH RETURN (ALL) MODSEQ ${h0 + 1}
    S: * ESEARCH (TAG "c") UID ALL 1 MODSEQ ${h0 + 1}
    S: c OK UID SEARCH completed
    C: d SEARCH MODSEQ ${h0 + 2}
    S: * SEARCH
    S: d OK SEARCH completed
    C: e SEARCH MODSEQ 9223372036854775808
    S: e BAD SEARCH MODSEQ: a mod-sequence (a number from 0 to 2^63-1) expected
    C: f SEARCH MODSEQ "/other" all 5
    S: f BAD SEARCH MODSEQ: the entry name is "/flags/<flag>"
    C: g SORT (REVERSE SUBJECT) UTF-8 MODSEQ ${h0}
    S: * SORT 3 1 (MODSEQ ${h0 + 1})
    S: g OK SORT completed
    `,
  );
});

test('QRESYNC (RFC 7162 3.2.5): SELECT reports VANISHED (EARLIER) and the changed flags; then VANISHED instead of EXPUNGE; UID FETCH VANISHED', async (t) => {
  const { open, store, uidValidity } = await imapLab(6);
  const c = open();
  await login(c);
  const h0 = (await store.status('alice', 'INBOX')).highestModseq;
  await play(
    t,
    c,
    `
    C: a SELECT INBOX (QRESYNC (${uidValidity} ${h0}))
    S: a BAD QRESYNC parameter needs ENABLE QRESYNC first
    C: b ENABLE QRESYNC
    S: * ENABLED QRESYNC
    S: b OK ENABLE completed
    `,
  );
  // While the client was away: 2 and 5 expunged, 3 flagged.
  await store.expunge('alice', 'INBOX', [2]);
  await store.updateFlags('alice', 'INBOX', [3], 'add', ['\\Flagged']);
  await store.expunge('alice', 'INBOX', [5]);
  await play(
    t,
    c,
    `
    C: c SELECT INBOX (QRESYNC (${uidValidity} ${h0} 1:6))
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 4 EXISTS
    S: * 4 RECENT
    S: * OK [UNSEEN 1] First unseen
    S: * OK [UIDVALIDITY ${uidValidity}] UIDs valid
    S: * OK [UIDNEXT 7] Predicted next UID
    S: * OK [HIGHESTMODSEQ ${h0 + 3}] Highest mailbox mod-sequence
    S: * VANISHED (EARLIER) 2,5
    S: * 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent) MODSEQ (${h0 + 2}))
    S: c OK [READ-WRITE] SELECT completed
    C: d SELECT INBOX (QRESYNC (${uidValidity} ${h0 + 1} 3:6))
    S: * OK [CLOSED] Previous mailbox closed
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 4 EXISTS
    S: * 0 RECENT
    S: * OK [UNSEEN 1] First unseen
    S: * OK [UIDVALIDITY ${uidValidity}] UIDs valid
    S: * OK [UIDNEXT 7] Predicted next UID
    S: * OK [HIGHESTMODSEQ ${h0 + 3}] Highest mailbox mod-sequence
    S: * VANISHED (EARLIER) 5
    S: * 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (${h0 + 2}))
    S: d OK [READ-WRITE] SELECT completed
    C: e SELECT INBOX (QRESYNC (${uidValidity + 1} ${h0} 1:6))
    S: * OK [CLOSED] Previous mailbox closed
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 4 EXISTS
    S: * 0 RECENT
    S: * OK [UNSEEN 1] First unseen
    S: * OK [UIDVALIDITY ${uidValidity}] UIDs valid
    S: * OK [UIDNEXT 7] Predicted next UID
    S: * OK [HIGHESTMODSEQ ${h0 + 3}] Highest mailbox mod-sequence
    S: e OK [READ-WRITE] SELECT completed
    C: f UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h0 + 1} VANISHED)
    S: * VANISHED (EARLIER) 5
    S: * 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (${h0 + 2}))
    S: f OK UID FETCH completed
    C: g FETCH 1:* (FLAGS) (CHANGEDSINCE ${h0} VANISHED)
    S: g BAD VANISHED is a UID FETCH modifier
    C: h UID FETCH 1:* (FLAGS) (VANISHED)
    S: h BAD VANISHED needs CHANGEDSINCE
    C: i STORE 1 +FLAGS.SILENT (\\Deleted)
    S: i OK STORE completed
    C: j EXPUNGE
    S: * VANISHED 1
    S: j OK EXPUNGE completed
    `,
  );
  // Another session's expunge also arrives as VANISHED.
  await store.expunge('alice', 'INBOX', [4]);
  await play(
    t,
    c,
    `
    C: k NOOP
    S: * VANISHED 4
    S: k OK NOOP completed
    `,
  );
});

test('QRESYNC seq-match data (RFC 7162 3.2.5.2) and hostile parameters: BAD with a clear text, the selection unchanged', async (t) => {
  const { open, store, uidValidity } = await imapLab(4);
  const c = open();
  await login(c);
  const h0 = (await store.status('alice', 'INBOX')).highestModseq;
  const huge = Array.from({ length: 10_001 }, (_, i) => String(2 * i + 1)).join(',');
  await play(
    t,
    c,
    `
    C: a ENABLE QRESYNC
    S: * ENABLED QRESYNC
    S: a OK ENABLE completed
    C: b SELECT INBOX (QRESYNC (${uidValidity} 0))
    S: b BAD QRESYNC: a mod-sequence (a number from 1 to 2^63-1) expected
    C: c SELECT INBOX (QRESYNC (${uidValidity} 9223372036854775808))
    S: c BAD QRESYNC: a mod-sequence (a number from 1 to 2^63-1) expected
    C: d SELECT INBOX (QRESYNC (${uidValidity} 1 1:*))
    S: d BAD QRESYNC: known-uids may not contain "*"
    C: e SELECT INBOX (QRESYNC (${uidValidity} 1 1:4 (1:2 1)))
    S: e BAD QRESYNC: known-sequence-set and known-uid-set must have as many numbers
    C: f SELECT INBOX (QRESYNC (${uidValidity} 1 1:4 (2,1 3,4)))
    S: f BAD QRESYNC: known-sequence-set must be in ascending order
    C: g SELECT INBOX (QRESYNC (0 1))
    S: g BAD QRESYNC: UIDVALIDITY must be a number from 1 to 4294967295
    C: h SELECT INBOX (QRESYNC (${uidValidity} 1 ${huge}))
    S: h BAD QRESYNC: known-uids has more than 10000 ranges
    C: i SELECT INBOX (QRESYNC (${uidValidity} 1 1:4 (1:20000 1:20000)))
    S: i BAD QRESYNC: known-sequence-set has more than 10000 numbers
    C: j SELECT INBOX (FROB)
    S: j BAD unknown or repeated SELECT parameter FROB
    C: k SELECT INBOX (CONDSTORE CONDSTORE)
    S: k BAD unknown or repeated SELECT parameter CONDSTORE
    C: l UID FETCH 1:* (FLAGS) (CHANGEDSINCE -1)
    S: l BAD UID FETCH not allowed in this state: select a mailbox first
    `,
  );
  // A pair that does not match (message 1 is UID 2 now) narrows nothing.
  await store.expunge('alice', 'INBOX', [1, 3]);
  c.write(`m SELECT INBOX (QRESYNC (${uidValidity} ${h0} 1:4 (1 1)))\r\n`);
  const lines = await untilTagged(c, 'm');
  t.true(lines.includes('* VANISHED (EARLIER) 1,3'), lines.join('\n'));
  // A matching pair (message 2 is UID 4): the client knows every expunge up to UID 4.
  c.write(`n SELECT INBOX (QRESYNC (${uidValidity} ${h0} 1:4 (2 4)))\r\n`);
  const again = await untilTagged(c, 'n');
  t.false(
    again.some((l) => l.startsWith('* VANISHED')),
    again.join('\n'),
  );
  t.is(again[again.length - 1], 'n OK [READ-WRITE] SELECT completed');
});

test('QRESYNC beyond the expunge history (RFC 7162 3.2.6 note, 3.2.5.2): every known UID that is gone, narrowed by seq-match data', async (t) => {
  const { open, store, uidValidity } = await imapLab(8, { expungeHistory: 2 });
  const c = open();
  await login(c);
  const h0 = (await store.status('alice', 'INBOX')).highestModseq;
  // Four expunges, one at a time: the history keeps the last two (UIDs 5 and 7).
  for (const uid of [1, 3, 5, 7]) await store.expunge('alice', 'INBOX', [uid]);
  c.write('a ENABLE QRESYNC\r\n');
  await untilTagged(c, 'a');
  // From h0 the history is incomplete: every UID of 1:8 not in the mailbox.
  c.write(`b SELECT INBOX (QRESYNC (${uidValidity} ${h0} 1:8))\r\n`);
  t.true((await untilTagged(c, 'b')).includes('* VANISHED (EARLIER) 1,3,5,7'));
  // Message 2 is UID 4 (matches): nothing at or below UID 4 is reported.
  c.write(`c SELECT INBOX (QRESYNC (${uidValidity} ${h0} 1:8 (1,2 2,4)))\r\n`);
  t.true((await untilTagged(c, 'c')).includes('* VANISHED (EARLIER) 5,7'));
  // From a mod-sequence the history covers: exactly what it holds.
  const h = (await store.status('alice', 'INBOX')).highestModseq;
  c.write(`d SELECT INBOX (QRESYNC (${uidValidity} ${h - 1} 1:8))\r\n`);
  t.true((await untilTagged(c, 'd')).includes('* VANISHED (EARLIER) 7'));
  c.write(`e UID FETCH 1:8 (FLAGS) (CHANGEDSINCE ${h0} VANISHED)\r\n`);
  t.deepEqual(await untilTagged(c, 'e'), ['* VANISHED (EARLIER) 1,3,5,7', 'e OK UID FETCH completed']);
});
