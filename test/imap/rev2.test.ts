// IMAP4rev2 (RFC 9051) beside IMAP4rev1: both advertised, rev1's response forms until ENABLE IMAP4rev2
// (appendix A), then rev2's (appendix E): SEARCH answered with ESEARCH, no RECENT, no UNSEEN code, a
// LIST response on SELECT, [CLOSED] on reselect, UID in every unsolicited FETCH, \NonExistent
// parents in LIST, UTF-8 mailbox names, STATUS DELETED. Raw transcripts, every line compared.
import test from 'ava';
import { closeMailFixtures, play } from '../core/line-transcript.js';
import { imapLab, login, msg } from './transcript-lab.js';

test.after.always(async () => {
  await closeMailFixtures();
});

/** UTF-8 text as the wire's one char per octet. */
const u8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

test('CAPABILITY lists IMAP4rev1 and IMAP4rev2; ENABLE IMAP4rev2 (any case) is answered in the table spelling, once', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  const greeting = await c.line();
  t.regex(greeting ?? '', /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 /);
  c.write('l LOGIN alice alice-lab\r\n');
  await c.line();
  await play(
    t,
    c,
    `
    C: a ENABLE imap4REV2
    S: * ENABLED IMAP4rev2
    S: a OK ENABLE completed
    C: b ENABLE IMAP4rev2
    S: * ENABLED
    S: b OK ENABLE completed
    `,
  );
});

test('without ENABLE the rev1 forms stay: RECENT, UNSEEN, SEARCH response, no LIST on SELECT, no [CLOSED]', async (t) => {
  const { open } = await imapLab(2);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: a SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 2 EXISTS
    S: * 2 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 3] Predicted next UID
    S: a OK [READ-WRITE] SELECT completed
    C: b SEARCH ALL
    S: * SEARCH 1 2
    S: b OK SEARCH completed
    C: c EXAMINE INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 2 EXISTS
    S: * 0 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 3] Predicted next UID
    S: c OK [READ-ONLY] EXAMINE completed
    `,
  );
});

test('after ENABLE IMAP4rev2: SELECT has LIST and no RECENT/UNSEEN, reselect says [CLOSED], SEARCH answers ESEARCH (RFC 9051 6.3.2, 6.4.4)', async (t) => {
  const { open, uidValidity } = await imapLab(3);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: e ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: e OK ENABLE completed
    C: a SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 3 EXISTS
    S: * LIST (\\HasNoChildren) "." INBOX
    S: * OK [UIDVALIDITY ${uidValidity}] UIDs valid
    S: * OK [UIDNEXT 4] Predicted next UID
    S: a OK [READ-WRITE] SELECT completed
    C: b SEARCH ALL
    S: * ESEARCH (TAG "b") ALL 1:3
    S: b OK SEARCH completed
    C: c UID SEARCH SUBJECT nothing-matches
    S: * ESEARCH (TAG "c") UID
    S: c OK UID SEARCH completed
    C: d SEARCH RETURN (COUNT) ALL
    S: * ESEARCH (TAG "d") COUNT 3
    S: d OK SEARCH completed
    C: f SORT (SUBJECT) UTF-8 ALL
    S: * SORT 1 2 3
    S: f OK SORT completed
    C: g EXAMINE Sent
    S: * OK [CLOSED] Previous mailbox closed
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 0 EXISTS
    S: * LIST (\\HasNoChildren \\Sent) "." Sent
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 1] Predicted next UID
    S: g OK [READ-ONLY] EXAMINE completed
    `,
  );
});

test('after ENABLE IMAP4rev2: the LIST line of SELECT says \\HasChildren only when a folder lies below (not for a name that merely starts alike)', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: e ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: e OK ENABLE completed
    C: a CREATE Sentry
    S: a OK CREATE completed
    C: b EXAMINE Sent
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 0 EXISTS
    S: * LIST (\\HasNoChildren \\Sent) "." Sent
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 1] Predicted next UID
    S: b OK [READ-ONLY] EXAMINE completed
    C: c CREATE Sent.2026
    S: c OK CREATE completed
    C: d EXAMINE Sent
    S: * OK [CLOSED] Previous mailbox closed
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 0 EXISTS
    S: * LIST (\\HasChildren \\Sent) "." Sent
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 1] Predicted next UID
    S: d OK [READ-ONLY] EXAMINE completed
    C: f EXAMINE Sent.2026
    S: * OK [CLOSED] Previous mailbox closed
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 0 EXISTS
    S: * LIST (\\HasNoChildren) "." Sent.2026
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 1] Predicted next UID
    S: f OK [READ-ONLY] EXAMINE completed
    `,
  );
});

test("after ENABLE IMAP4rev2: another session's changes arrive without RECENT and every unsolicited FETCH carries UID (appendix E 12, 21)", async (t) => {
  const { open, store } = await imapLab(2);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: e ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: e OK ENABLE completed
    C: a SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 2 EXISTS
    S: * LIST (\\HasNoChildren) "." INBOX
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 3] Predicted next UID
    S: a OK [READ-WRITE] SELECT completed
    `,
  );
  await store.append('alice', 'INBOX', Buffer.from(msg(3)));
  await play(
    t,
    c,
    `
    C: n NOOP
    S: * 3 EXISTS
    S: n OK NOOP completed
    `,
  );
  const f = await store.open('alice', 'INBOX');
  await store.updateFlags('alice', 'INBOX', [f.messages[0].uid], 'add', ['\\Seen']);
  await play(
    t,
    c,
    `
    C: m NOOP
    S: * 1 FETCH (FLAGS (\\Seen) UID 1)
    S: m OK NOOP completed
    `,
  );
});

test('after ENABLE IMAP4rev2: LIST answers a missing parent \\NonExistent (RFC 9051 6.3.9.8), STATUS DELETED counts \\Deleted, selected or not', async (t) => {
  const { open } = await imapLab(3);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: a CREATE music.rock
    S: a OK CREATE completed
    C: c LIST "" mus%
    S: * LIST (\\Noselect \\HasChildren) "." music
    S: c OK LIST completed
    C: e ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: e OK ENABLE completed
    C: d LIST "" mus%
    S: * LIST (\\NonExistent \\HasChildren) "." music
    S: d OK LIST completed
    C: f SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 3 EXISTS
    S: * LIST (\\HasNoChildren) "." INBOX
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 4] Predicted next UID
    S: f OK [READ-WRITE] SELECT completed
    C: g STORE 1,3 +FLAGS.SILENT (\\Deleted)
    S: g OK STORE completed
    C: h STATUS INBOX (MESSAGES DELETED)
    S: * STATUS INBOX (MESSAGES 3 DELETED 2)
    S: h OK STATUS completed
    C: i STATUS Sent (DELETED)
    S: * STATUS Sent (DELETED 0)
    S: i OK STATUS completed
    C: j UNSELECT
    S: j OK UNSELECT completed
    C: k STATUS INBOX (DELETED)
    S: * STATUS INBOX (DELETED 2)
    S: k OK STATUS completed
    `,
  );
});

test('mailbox names: modified UTF-7 for rev1, UTF-8 after ENABLE IMAP4rev2, where "&" is just "&" (RFC 9051 5.1, appendix A)', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: a CREATE "Entw&APw-rfe"
    S: a OK CREATE completed
    C: b LIST "" "Entw*"
    S: * LIST (\\HasNoChildren) "." Entw&APw-rfe
    S: b OK LIST completed
    C: e ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: e OK ENABLE completed
    C: c LIST "" "Entw*"
    S: * LIST (\\HasNoChildren) "." "${u8('Entwürfe')}"
    S: c OK LIST completed
    C: d CREATE "R&D"
    S: d OK CREATE completed
    C: f LIST "" "R*"
    S: * LIST (\\HasNoChildren) "." R&D
    S: f OK LIST completed
    C: g STATUS "${u8('Entwürfe')}" (MESSAGES)
    S: * STATUS "${u8('Entwürfe')}" (MESSAGES 0)
    S: g OK STATUS completed
    `,
  );
});

test('keywords RFC 9051 section 2.3.2 asks servers to support ($Forwarded, $MDNSent, $Junk, $NotJunk, $Phishing) are stored and searched', async (t) => {
  const { open } = await imapLab(1);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: e ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: e OK ENABLE completed
    C: a EXAMINE INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox
    S: * 1 EXISTS
    S: * LIST (\\HasNoChildren) "." INBOX
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 2] Predicted next UID
    S: a OK [READ-ONLY] EXAMINE completed
    C: b SELECT INBOX
    S: * OK [CLOSED] Previous mailbox closed
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 1 EXISTS
    S: * LIST (\\HasNoChildren) "." INBOX
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 2] Predicted next UID
    S: b OK [READ-WRITE] SELECT completed
    C: c STORE 1 +FLAGS ($Forwarded $MDNSent $Junk $NotJunk $Phishing)
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $MDNSent $Junk $NotJunk $Phishing)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $MDNSent $Junk $NotJunk $Phishing \\*)] Flags permitted
    S: * 1 FETCH (FLAGS ($Forwarded $MDNSent $Junk $NotJunk $Phishing) UID 1)
    S: c OK STORE completed
    C: d SEARCH KEYWORD $Phishing KEYWORD $MDNSent
    S: * ESEARCH (TAG "d") ALL 1
    S: d OK SEARCH completed
    `,
  );
});
