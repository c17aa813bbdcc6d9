// IMAP transcripts: the session state machine driven over an in-memory pair (no socket), every line
// compared exactly. Greeting, wrong states, unknown commands, bad arguments, too many errors, LOGIN
// with literals, AUTHENTICATE with a continuation, pipelined commands (one write for the batch), UID
// commands (two-word names in the command table), LOGOUT, the TLS policy's switches and the
// interceptor.
import test from 'ava';
import { TlsPolicy, type Interceptor } from '../../core/line-session/index.js';
import { IMAP_LIMITS } from '../../services/imap/limits.js';
import { b64, closeMailFixtures, mailFixture, play } from '../core/line-transcript.js';
import { imapSessions } from './transcript-lab.js';

const CAPS =
  'LITERAL+ SASL-IR IDLE NAMESPACE UIDPLUS MOVE SPECIAL-USE CHILDREN UNSELECT ENABLE ID LIST-STATUS QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE APPENDLIMIT=100000 ESEARCH SORT ESORT CONTEXT=SEARCH CONTEXT=SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES STATUS=SIZE MULTIAPPEND LIST-EXTENDED BINARY CATENATE SEARCHRES CONDSTORE QRESYNC UTF8=ACCEPT NOTIFY';
const CAPABILITY = `IMAP4rev1 IMAP4rev2 AUTH=PLAIN ${CAPS}`;
const GREETING = `S: * OK [CAPABILITY ${CAPABILITY}] labnet.lab.test labnet IMAP4rev1 ready`;

async function imap(o: { tls?: TlsPolicy; interceptor?: Interceptor; messages?: string[] } = {}) {
  const { store, accounts } = await mailFixture(o.messages);
  return imapSessions(store, accounts, o);
}

test.after.always(closeMailFixtures);

const MSG = 'From: bob@lab.test\r\nSubject: hi\r\n\r\nhello\r\n';

test('not authenticated: wrong states, unknown commands, bad arguments, LOGIN with literals, then SELECT and UID FETCH', async (t) => {
  const lab = await imap({ messages: [MSG] });
  const { client } = lab.open();
  await play(
    t,
    client,
    `
    ${GREETING}
    C: a SELECT INBOX
    S: a BAD SELECT not allowed in this state: log in first
    C: b FROB
    S: b BAD Unknown command FROB
    C: c LOGIN alice
    S: c BAD LOGIN: wrong number of arguments
    C: d UID FROB 1
    S: d BAD Unknown command UID FROB
    C: e CAPABILITY
    S: * CAPABILITY ${CAPABILITY}
    S: e OK CAPABILITY completed
    C: f LOGIN alice wrong
    S: f NO [AUTHENTICATIONFAILED] Invalid credentials
    C: g LOGIN {5}
    S: + Ready for literal data
    C: alice {9}
    S: + Ready for literal data
    C: alice-lab
    S: g OK [CAPABILITY ${CAPABILITY}] Logged in
    C: h FETCH 1 FLAGS
    S: h BAD FETCH not allowed in this state: select a mailbox first
    C: i SELECT INBOX
    S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
    S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
    S: * 1 EXISTS
    S: * 1 RECENT
    S: * OK [UNSEEN 1] First unseen
    S~ \\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
    S: * OK [UIDNEXT 2] Predicted next UID
    S: i OK [READ-WRITE] SELECT completed
    C: j UID FETCH 1:* (UID RFC822.SIZE)
    S: * 1 FETCH (UID 1 RFC822.SIZE ${MSG.length})
    S: j OK UID FETCH completed
    C: k UID STORE 1 +FLAGS.SILENT (\\Seen)
    S: k OK UID STORE completed
    C: l LOGOUT
    S: * BYE labnet IMAP server logging out
    S: l OK LOGOUT completed
    S: <closed>`,
  );
  await lab.events.settled();
  const commands = lab.published.filter((e) => e.type === 'command').map((e) => e.text);
  t.true(commands.includes('f LOGIN alice <redacted>'));
  t.false(JSON.stringify(lab.published).includes('alice-lab'), 'the literal password never reaches an event');
});

test('AUTHENTICATE PLAIN: initial response, continuation, cancel, wrong authorization identity', async (t) => {
  const lab = await imap();
  const { client } = lab.open();
  await play(
    t,
    client,
    `
    ${GREETING}
    C: a AUTHENTICATE CRAM-MD5
    S: a NO [CANNOT] Unsupported mechanism CRAM-MD5
    C: b AUTHENTICATE PLAIN
    S: + 
    C: *
    S: b BAD Authentication cancelled
    C: c AUTHENTICATE PLAIN ${b64('bob\0alice\0alice-lab')}
    S: c NO [AUTHORIZATIONFAILED] Authorization identity must be the user itself
    C: d AUTHENTICATE PLAIN
    S: + 
    C: ${b64('alice\0alice\0alice-lab')}
    S: d OK [CAPABILITY ${CAPABILITY}] Logged in`,
  );
});

test('pipelined commands: answered in order, in one write', async (t) => {
  const lab = await imap({ messages: [MSG, MSG] });
  const { client, conn } = lab.open();
  await play(t, client, `${GREETING}\nC: a LOGIN alice alice-lab\nS: a OK [CAPABILITY ${CAPABILITY}] Logged in`);
  let chunks = 0;
  client.end.on('data', () => chunks++);
  const before = conn.bytesOut;
  await play(
    t,
    client,
    `
    C: b NOOP
    C: c NAMESPACE
    C: d STATUS INBOX (MESSAGES UIDNEXT)
    C: e FROB
    S: b OK NOOP completed
    S: * NAMESPACE (("" ".")) NIL NIL
    S: c OK NAMESPACE completed
    S: * STATUS INBOX (MESSAGES 2 UIDNEXT 3)
    S: d OK STATUS completed
    S: e BAD Unknown command FROB`,
  );
  t.is(chunks, 1, 'four answers, one write');
  t.true(conn.bytesOut > before);
});

test('the 50th protocol error ends the session', async (t) => {
  const lab = await imap();
  const n = IMAP_LIMITS.maxBadCommands;
  const sent = Array.from({ length: n }, (_, i) => `C: x${i} FROB`).join('\n');
  const answers = Array.from({ length: n }, (_, i) => `S: x${i} BAD Unknown command FROB`).join('\n');
  await play(t, lab.open().client, `${GREETING}\n${sent}\n${answers}\nS: * BYE Too many protocol errors\nS: <closed>`);
});

test('TLS policy: STARTTLS offered or not (tls.offerStartTls), LOGINDISABLED before TLS (tls.requireTlsForAuth)', async (t) => {
  const material = { upgradeOptions: () => ({}) };
  const offered = await imap({ tls: new TlsPolicy({ offerStartTls: true, requireTlsForAuth: false, ...material }) });
  await play(t, offered.open().client, `S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS AUTH=PLAIN ${CAPS}] labnet.lab.test labnet IMAP4rev1 ready`);
  const off = await imap({ tls: new TlsPolicy({ offerStartTls: false, requireTlsForAuth: false, ...material }) });
  await play(t, off.open().client, `${GREETING}\nC: a STARTTLS\nS: a BAD STARTTLS is not available`);
  const required = await imap({ tls: new TlsPolicy({ offerStartTls: true, requireTlsForAuth: true, ...material }) });
  await play(
    t,
    required.open().client,
    `
    S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 STARTTLS LOGINDISABLED ${CAPS}] labnet.lab.test labnet IMAP4rev1 ready
    C: a LOGIN alice alice-lab
    S: a NO [PRIVACYREQUIRED] Authentication needs TLS first: use STARTTLS or the IMAPS port
    C: b AUTHENTICATE PLAIN ${b64('\0alice\0alice-lab')}
    S: b NO [PRIVACYREQUIRED] Authentication needs TLS first: use STARTTLS or the IMAPS port`,
  );
});

test('interceptor: the step carries the tag; a command answered NO, a connection closed', async (t) => {
  const lab = await imap({
    interceptor: (_s, step) => {
      if (step.kind === 'command' && step.name === 'LOGIN') return { reply: `${step.tag} NO [UNAVAILABLE] injected: try later` };
      if (step.kind === 'command' && step.name === 'NOOP') return { close: true };
      return undefined;
    },
  });
  await play(
    t,
    lab.open().client,
    `
    ${GREETING}
    C: a LOGIN alice alice-lab
    S: a NO [UNAVAILABLE] injected: try later
    C: b CAPABILITY
    S: * CAPABILITY ${CAPABILITY}
    S: b OK CAPABILITY completed
    C: c NOOP
    S: <closed>`,
  );
});
