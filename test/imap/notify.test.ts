// NOTIFY (RFC 5465): NOTIFY SET [STATUS] with its initial STATUS responses, STATUS for other
// mailboxes pushed between commands and in IDLE, MessageNew's FETCH in the selected mailbox, LIST
// for MailboxName and SubscriptionChange, NOTIFY NONE, BADEVENT, NOTIFICATIONOVERFLOW, BAD syntax.
// Raw transcripts (every line compared); a fast-check property for the argument grammar.
import test from 'ava';
import fc from 'fast-check';
import { parseCommand } from '../../services/imap/command-parser.js';
import { ImapError } from '../../services/imap/imap-errors.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { parseNotify } from '../../services/imap/notify.js';
import { closeMailFixtures, play } from '../core/line-transcript.js';
import { command, exchange, imapLab, login, msg } from './transcript-lab.js';

test.after.always(async () => {
  await closeMailFixtures();
});

test('NOTIFY SET STATUS reports the named mailboxes at once (items as Dovecot), without STATUS nothing; NOTIFY NONE', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  await command(c, 'a', 'CREATE box2');
  await command(c, 'b', `APPEND box2 {${msg(1).length}+}\r\n${msg(1)}`);
  await play(
    t,
    c,
    `
    C: c NOTIFY SET STATUS (mailboxes box2 (MessageExpunge))
    S~ \\* STATUS box2 \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1\\)
    S: c OK NOTIFY completed
    C: d NOTIFY SET STATUS (mailboxes box2 (FlagChange))
    S~ \\* STATUS box2 \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1 HIGHESTMODSEQ \\d+\\)
    S: d OK NOTIFY completed
    C: e NOTIFY SET (mailboxes box2 (MessageNew MessageExpunge FlagChange))
    S: e OK NOTIFY completed
    C: f NOTIFY NONE
    S: f OK NOTIFY completed
    C: g CAPABILITY
    S~ \\* CAPABILITY .* NOTIFY( .*)?
    S: g OK CAPABILITY completed
    `,
  );
});

test('another session APPENDs to a watched mailbox: STATUS arrives with no command in progress, and in IDLE', async (t) => {
  const { open } = await imapLab(0);
  const a = open();
  const b = open();
  await login(a);
  await login(b);
  await command(a, 'a1', 'CREATE Lists');
  await command(a, 'a2', 'NOTIFY SET (subtree Lists (MessageNew MessageExpunge)) (personal (MailboxName SubscriptionChange))');
  // Nothing in flight on a: the STATUS is pushed by itself (RFC 5465 section 5).
  await command(b, 'b1', `APPEND Lists {${msg(1).length}+}\r\n${msg(1)}`);
  t.regex((await a.line()) ?? '', /^\* STATUS Lists \(MESSAGES 1 UIDNEXT 2 UNSEEN 1\)$/);
  // MailboxName and SubscriptionChange as LIST responses (section 5.4, 5.5), also for a child. A
  // mailbox that comes under a group is watched from then on, and its STATUS follows its LIST.
  await command(b, 'b2', 'CREATE Lists.rust');
  t.is(await a.line(), '* LIST () "." Lists.rust');
  t.is(await a.line(), '* STATUS Lists.rust (MESSAGES 0 UIDNEXT 1 UNSEEN 0)');
  await command(b, 'b3', 'SUBSCRIBE Lists.rust');
  t.is(await a.line(), '* LIST (\\Subscribed) "." Lists.rust');
  await command(b, 'b4', 'RENAME Lists.rust Lists.go');
  t.is(await a.line(), '* LIST () "." Lists.go ("OLDNAME" (Lists.rust))');
  t.is(await a.line(), '* STATUS Lists.go (MESSAGES 0 UIDNEXT 1 UNSEEN 0)');
  // In IDLE too.
  a.write('i IDLE\r\n');
  t.is(await a.line(), '+ idling');
  await command(b, 'b5', `APPEND Lists.go {${msg(2).length}+}\r\n${msg(2)}`);
  t.is(await a.line(), '* STATUS Lists.go (MESSAGES 1 UIDNEXT 2 UNSEEN 1)');
  await command(b, 'b6', 'DELETE Lists.go');
  t.is(await a.line(), '* LIST (\\NonExistent) "." Lists.go');
  a.write('DONE\r\n');
  t.is(await a.line(), 'i OK IDLE terminated');
  // NOTIFY NONE: nothing more.
  await command(a, 'a3', 'NOTIFY NONE');
  await command(b, 'b7', `APPEND Lists {${msg(3).length}+}\r\n${msg(3)}`);
  t.deepEqual(await exchange(a, 'a4', 'NOOP'), ['a4 OK NOOP completed']);
});

test('other mailboxes: FlagChange gives UNSEEN, MessageExpunge gives MESSAGES UIDNEXT UNSEEN, with HIGHESTMODSEQ after ENABLE CONDSTORE; the selected one gets no STATUS', async (t) => {
  const { open } = await imapLab(2);
  const a = open();
  const b = open();
  await login(a);
  await login(b);
  await command(a, 'e', 'ENABLE CONDSTORE');
  await command(a, 'n', 'NOTIFY SET (personal (MessageNew MessageExpunge FlagChange))');
  await command(b, 's', 'SELECT INBOX');
  await command(b, 'b1', 'STORE 1 +FLAGS.SILENT (\\Seen)');
  t.regex((await a.line()) ?? '', /^\* STATUS INBOX \(UNSEEN 1 HIGHESTMODSEQ \d+\)$/);
  await command(b, 'b2', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
  t.regex((await a.line()) ?? '', /^\* STATUS INBOX \(UNSEEN 1 HIGHESTMODSEQ \d+\)$/);
  await command(b, 'b3', 'EXPUNGE');
  t.regex((await a.line()) ?? '', /^\* STATUS INBOX \(MESSAGES 1 UIDNEXT 3 UNSEEN 0 HIGHESTMODSEQ \d+\)$/);
  // Once a selects INBOX its changes come through the view, never as STATUS.
  const sel = await exchange(a, 's', 'SELECT INBOX');
  t.false(sel.some((l) => l.startsWith('* STATUS')));
  await command(b, 'b4', `APPEND INBOX {${msg(3).length}+}\r\n${msg(3)}`);
  t.deepEqual(
    (await exchange(a, 'x', 'NOOP')).filter((l) => l.startsWith('* STATUS')),
    [],
  );
});

test('selected (MessageNew (fetch-att) MessageExpunge FlagChange): EXISTS then FETCH with the items, flag changes and expunges pushed', async (t) => {
  const { open } = await imapLab(2);
  const a = open();
  const b = open();
  await login(a);
  await login(b);
  await command(a, 's', 'SELECT INBOX');
  await play(
    t,
    a,
    `
    C: n NOTIFY SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange))
    S: n OK NOTIFY completed
    `,
  );
  await command(b, 'b1', `APPEND INBOX {${msg(3).length}+}\r\n${msg(3)}`);
  t.is(await a.line(), '* 3 EXISTS');
  t.is(await a.line(), '* 3 RECENT');
  t.is(await a.line(), '* 3 FETCH (UID 3 FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {15}');
  t.is(await a.line(), 'Subject: m3');
  t.is(await a.line(), '');
  t.is(await a.line(), ')');
  await command(b, 'b2', 'SELECT INBOX');
  await command(b, 'b3', 'STORE 1 +FLAGS (\\Flagged)');
  t.is(await a.line(), '* 1 FETCH (FLAGS (\\Flagged \\Recent))');
  await command(b, 'b4', 'STORE 2 +FLAGS.SILENT (\\Deleted)');
  t.is(await a.line(), '* 2 FETCH (FLAGS (\\Deleted \\Recent))');
  await command(b, 'b5', 'EXPUNGE');
  t.is(await a.line(), '* 2 EXPUNGE');
  // The session's own APPEND gets its FETCH too (Dovecot fetches every new UID).
  const own = await exchange(a, 'a1', `APPEND INBOX {${msg(4).length}+}\r\n${msg(4)}`);
  t.is(own[0], '* 3 EXISTS');
  t.regex(own[2], /^\* 3 FETCH \(UID 4 FLAGS \(.*\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{15\}$/);
  t.regex(own.at(-1)!, /^a1 OK \[APPENDUID \d+ 4\] APPEND completed$/);
});

test('selected-delayed: expunges wait for a command that may report them; new messages are pushed', async (t) => {
  const { open } = await imapLab(3);
  const a = open();
  const b = open();
  await login(a);
  await login(b);
  await command(a, 's', 'SELECT INBOX');
  await command(a, 'n', 'NOTIFY SET (selected-delayed (MessageNew MessageExpunge))');
  await command(b, 's', 'SELECT INBOX');
  await command(b, 'b1', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
  await command(b, 'b2', 'EXPUNGE');
  await command(b, 'b3', `APPEND INBOX {${msg(4).length}+}\r\n${msg(4)}`);
  // Nothing may be sent yet: the expunge is first in the queue and blocks what follows it.
  // (The flag change before it is reported as RFC 3501 reports it: FlagChange is about pushing.)
  t.deepEqual(await exchange(a, 'f', 'FETCH 1 UID'), ['* 1 FETCH (FLAGS (\\Deleted \\Recent))', '* 1 FETCH (UID 1)', 'f OK FETCH completed']);
  t.deepEqual(await exchange(a, 'x', 'NOOP'), ['* 1 EXPUNGE', '* 3 EXISTS', '* 2 RECENT', 'x OK NOOP completed']);
});

test('BADEVENT for events without METADATA/ANNOTATE, BAD for broken syntax and selected rules', async (t) => {
  const { open } = await imapLab(0);
  const c = open();
  await login(c);
  await play(
    t,
    c,
    `
    C: a NOTIFY SET (personal (MessageNew AnnotationChange))
    S: a NO [BADEVENT (AnnotationChange)] Unsupported NOTIFY events
    C: b NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))
    S: b NO [BADEVENT (MailboxMetadataChange ServerMetadataChange)] Unsupported NOTIFY events
    C: c NOTIFY SET (personal (NoSuchEvent))
    S: c NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unknown NOTIFY event NoSuchEvent
    C: d NOTIFY SET (selected (MessageNew))
    S: d BAD MessageNew and MessageExpunge must be named together for the selected mailbox
    C: e NOTIFY SET (selected (FlagChange))
    S: e BAD FlagChange for the selected mailbox needs MessageNew and MessageExpunge
    C: f NOTIFY SET (selected NONE) (selected NONE)
    S: f BAD selected named twice
    C: g NOTIFY SET (personal (MessageNew (UID)))
    S: g BAD MessageNew takes fetch attributes only for the selected mailbox
    C: h NOTIFY SET
    S: h BAD NOTIFY SET needs at least one event group
    C: i NOTIFY SET (nowhere (MessageNew))
    S: i BAD filter-mailboxes is selected, selected-delayed, inboxes, personal, subscribed, subtree or mailboxes
    C: j NOTIFY SET (personal ())
    S: j BAD events are NONE or a parenthesised list of events
    C: k NOTIFY BOGUS
    S: k BAD NOTIFY SET or NOTIFY NONE expected
    C: l NOTIFY SET (selected (MessageNew (NOSUCHITEM) MessageExpunge))
    S: l BAD unknown FETCH item NOSUCHITEM
    C: m NOTIFY NONE extra
    S: m BAD NOTIFY NONE takes no arguments
    C: n NOTIFY
    S: n BAD NOTIFY: wrong number of arguments
    `,
  );
});

test('bounds: more mailbox names than the limit is NO [NOTIFICATIONOVERFLOW]; a flood of LIST events overflows into NOTIFY NONE', async (t) => {
  const { open } = await imapLab(0);
  const a = open();
  const b = open();
  await login(a);
  await login(b);
  const names = Array.from({ length: IMAP_LIMITS.maxNotifyNames + 1 }, (_, i) => `m${i}`).join(' ');
  t.deepEqual(await exchange(a, 'a', `NOTIFY SET (mailboxes (${names}) (MessageNew))`), [
    `a NO [NOTIFICATIONOVERFLOW] At most ${IMAP_LIMITS.maxNotifyNames} mailbox names in one NOTIFY`,
  ]);
  await command(a, 'b', 'NOTIFY SET (personal (SubscriptionChange))');
  // a is inside a command (its APPEND waits for the literal) while b makes more notifications than
  // may wait: nothing can be sent to a meanwhile, so the queue overflows.
  a.write(`x APPEND INBOX {${msg(1).length}}\r\n`);
  t.is(await a.line(), '+ Ready for literal data');
  const n = IMAP_LIMITS.maxNotifyQueued + 1;
  let batch = '';
  for (let i = 0; i < n; i++) batch += `s${i} ${i % 2 === 0 ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} INBOX\r\n`;
  b.write(batch);
  // A pipelined batch is answered in one write at its end (core/line-session): wait for it as a whole.
  for (let i = 0; i < n; i++) await b.line(60_000);
  a.write(`${msg(1)}\r\n`);
  const lines = await exchange(a, 'y', 'NOOP');
  t.true(lines.includes('* OK [NOTIFICATIONOVERFLOW] Too many notifications waiting: NOTIFY is off now, use NOTIFY SET again'), lines.join('\n'));
  t.false(lines.some((l) => l.startsWith('* LIST')));
  // Off now: another subscription is not reported.
  await command(b, 'z', 'SUBSCRIBE INBOX');
  t.deepEqual(await exchange(a, 'w', 'NOOP'), ['w OK NOOP completed']);
});

/** A NOTIFY command's arguments through the real grammar (the mailbox reader: astrings as the session takes them). */
function notifyArgs(line: string): ReturnType<typeof parseCommand>['args'] {
  return parseCommand(Buffer.from(`t NOTIFY ${line}`, 'latin1')).args;
}
const readName = (tok: { t: string; v: unknown }): string => (tok.t === 'atom' ? (tok.v as string) : String(tok.v));

test('property: generated NOTIFY SET commands parse to the groups they were made of; any token soup is answered BAD or NO, never a crash', (t) => {
  const event = fc.constantFrom('MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange');
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}$/);
  const filter = fc.oneof(
    fc.constantFrom('personal', 'inboxes', 'subscribed').map((f) => ({ text: f, names: [] as string[] })),
    fc
      .tuple(fc.constantFrom('subtree', 'mailboxes'), fc.array(name, { minLength: 1, maxLength: 4 }))
      .map(([f, ns]) => ({ text: `${f} (${ns.join(' ')})`, names: ns })),
  );
  const group = fc.tuple(filter, fc.uniqueArray(event, { minLength: 1, maxLength: 5 }));
  fc.assert(
    fc.property(fc.boolean(), fc.array(group, { minLength: 1, maxLength: IMAP_LIMITS.maxNotifyGroups }), (status, groups) => {
      const line = `SET${status ? ' STATUS' : ''} ${groups.map(([f, evs]) => `(${f.text} (${evs.join(' ')}))`).join(' ')}`;
      const req = parseNotify(notifyArgs(line), readName);
      if (req.kind !== 'set') return false;
      if (req.status !== status || req.groups.length !== groups.length) return false;
      return req.groups.every(
        (g, i) => [...g.events].join() === groups[i][1].join() && ('names' in g.filter ? g.filter.names.join() === groups[i][0].names.join() : true),
      );
    }),
  );
  const piece = fc.constantFrom('SET', 'NONE', 'STATUS', '(', ')', 'selected', 'personal', 'subtree', 'MessageNew', 'FlagChange', 'x', '"q"', '(UID)', '()');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
      let args;
      try {
        args = notifyArgs(pieces.join(' '));
      } catch {
        return true; // the grammar refused it (unbalanced parentheses)
      }
      try {
        parseNotify(args, readName);
      } catch (err) {
        return err instanceof ImapError;
      }
      return true;
    }),
  );
  t.pass();
});
