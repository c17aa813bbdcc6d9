// SMTP transcripts: the session state machine driven over an in-memory pair (no socket), every reply
// compared exactly. Greeting, EHLO, bad sequences, unknown commands, too many errors, AUTH exchanges,
// PIPELINING, QUIT, the TLS policy's switches, the connection-level replies and the interceptor.
import test from 'ava';
import { connectionReplies, TlsPolicy, type Interceptor, type SessionStep } from '../../core/line-session/index.js';
import { createLogger } from '../../core/logger.js';
import { smtpConfigSchema } from '../../services/smtp/config.js';
import { LIMITS } from '../../services/smtp/limits.js';
import { RecipientPolicy } from '../../services/smtp/policy.js';
import { REPLY, replyLine } from '../../services/smtp/replies.js';
import { SmtpSession } from '../../services/smtp/smtp-session.js';
import { b64, closeMailFixtures, HOST, mailFixture, play, transcriptLab } from '../core/line-transcript.js';

interface Options {
  tls?: TlsPolicy;
  interceptor?: Interceptor;
  submission?: boolean;
  /** services.smtp keys (commandTimeoutMs...). */
  config?: Record<string, unknown>;
}

async function smtp(o: Options = {}) {
  const { store, accounts } = await mailFixture();
  const config = smtpConfigSchema.parse(o.config ?? {});
  const policy = new RecipientPolicy({ domain: 'lab.test', hostname: HOST, catchAllMailbox: 'catchall', autoCreateMailboxes: false }, accounts);
  const logger = createLogger('silent');
  const stats = { messages: 0, recipients: 0, rejectedRecipients: 0, authFailures: 0 };
  const sessions = transcriptLab(
    'smtp',
    LIMITS.authLine,
    (conn, events) =>
      new SmtpSession(
        conn,
        {
          config,
          hostname: HOST,
          domain: 'lab.test',
          accounts,
          store,
          policy,
          events,
          logger,
          stats,
          tls: o.tls ?? TlsPolicy.none(),
          interceptor: o.interceptor,
        },
        o.submission ?? false,
      ),
    {
      hooks: (events) =>
        connectionReplies(events, 'smtp', { idle: () => replyLine(REPLY.idleTimeout(HOST)), shutdown: () => replyLine(REPLY.shuttingDown(HOST)) }),
    },
  );
  return { ...sessions, store, stats };
}

test.after.always(closeMailFixtures);

const EHLO = (tls: 'none' | 'starttls' | 'no-auth') => `
  S: 250-${HOST} greets client.test
  S: 250-PIPELINING
  S: 250-SIZE 26214400
  S: 250-8BITMIME
  S: 250-SMTPUTF8
  S: 250-ENHANCEDSTATUSCODES
  S: 250-CHUNKING
  ${tls === 'starttls' || tls === 'no-auth' ? 'S: 250-STARTTLS' : ''}
  ${tls === 'no-auth' ? '' : 'S: 250-AUTH PLAIN LOGIN'}
  S: 250 HELP`;

test('greeting, EHLO, HELO, HELP, NOOP, RSET, VRFY, QUIT', async (t) => {
  const lab = await smtp();
  const { client, done } = lab.open();
  await play(
    t,
    client,
    `
    S: 220 ${HOST} ESMTP labnet
    C: EHLO client.test
    ${EHLO('none')}
    C: HELP
    S: 214-2.0.0 labnet SMTP: commands HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP AUTH
    S: 214-2.0.0 Mail for <user>@lab.test is delivered; mail for other domains is captured, never relayed
    S: 214 2.0.0 See RFC 5321
    C: NOOP
    S: 250 2.0.0 Ok
    C: VRFY alice
    S: 252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery
    C: HELO other.test
    S: 250 ${HOST}
    C: RSET
    S: 250 2.0.0 Ok
    C: QUIT
    S: 221 2.0.0 Bye
    S: <closed>`,
  );
  await done;
});

test('bad sequences, unknown commands and wrong arguments get 5xx and the session goes on', async (t) => {
  const lab = await smtp();
  const { client } = lab.open();
  await play(
    t,
    client,
    `
    S: 220 ${HOST} ESMTP labnet
    C: MAIL FROM:<bob@lab.test>
    S: 503 5.5.1 Error: send HELO/EHLO first
    C: EHLO client.test
    ${EHLO('none')}
    C: RCPT TO:<alice@lab.test>
    S: 503 5.5.1 Error: need MAIL command
    C: DATA
    S: 503 5.5.1 Error: need MAIL command
    C: FROB
    S: 500 5.5.2 Error: command not recognized
    C: EHLO
    S: 501 5.5.4 Syntax: EHLO hostname
    C: MAIL FROM:bob@lab.test
    S: 501 5.1.7 Path must be enclosed in angle brackets <...>
    C: MAIL FROM:<bob@lab.test>
    S: 250 2.1.0 Ok
    C: MAIL FROM:<bob@lab.test>
    S: 503 5.5.1 Error: nested MAIL command
    C: DATA
    S: 503 5.5.1 Error: need RCPT command
    C: RCPT TO:<alice@elsewhere.test>
    S: 554 5.7.1 <alice@elsewhere.test>: Relay access denied
    C: RCPT TO:<alice@lab.test>
    S: 250 2.1.5 Ok
    C: QUIT
    S: 221 2.0.0 Bye
    S: <closed>`,
  );
});

test('the 20th bad command ends the session with 421', async (t) => {
  const lab = await smtp();
  const { client } = lab.open();
  const bad = Array.from({ length: LIMITS.badCommands }, () => 'C: FROB').join('\n');
  const replies = Array.from({ length: LIMITS.badCommands }, () => 'S: 500 5.5.2 Error: command not recognized').join('\n');
  await play(t, client, `S: 220 ${HOST} ESMTP labnet\n${bad}\n${replies}\nS: 421 4.7.0 ${HOST} Error: too many errors\nS: <closed>`);
});

test('AUTH: PLAIN with and without an initial response, LOGIN, cancel, bad base64, failures, then success', async (t) => {
  const lab = await smtp({ submission: true });
  const { client } = lab.open();
  await play(
    t,
    client,
    `
    S: 220 ${HOST} ESMTP labnet
    C: HELO client.test
    S: 250 ${HOST}
    C: AUTH PLAIN ${b64('\0alice\0alice-lab')}
    S: 503 5.5.1 Error: send EHLO first
    C: EHLO client.test
    ${EHLO('none')}
    C: MAIL FROM:<alice@lab.test>
    S: 530 5.7.0 Authentication required
    C: AUTH CRAM-MD5
    S: 504 5.5.4 Unrecognized authentication type CRAM-MD5
    C: AUTH PLAIN
    S: 334 
    C: *
    S: 501 5.7.0 Authentication aborted
    C: AUTH PLAIN !!!
    S: 501 5.5.2 Cannot decode the base64 response
    C: AUTH PLAIN ${b64('\0alice\0wrong')}
    S: 535 5.7.8 Error: authentication failed
    C: AUTH PLAIN ${b64('bob\0alice\0alice-lab')}
    S: 535 5.7.8 Error: authentication failed
    C: AUTH LOGIN
    S: 334 VXNlcm5hbWU6
    C: ${b64('alice')}
    S: 334 UGFzc3dvcmQ6
    C: ${b64('alice-lab')}
    S: 235 2.7.0 Authentication successful
    C: AUTH PLAIN ${b64('\0alice\0alice-lab')}
    S: 503 5.5.1 Error: already authenticated
    C: MAIL FROM:<alice@lab.test>
    S: 250 2.1.0 Ok
    C: RCPT TO:<someone@elsewhere.test>
    S: 250 2.1.5 Ok (not relayed: captured in the catchall mailbox)
    C: QUIT
    S: 221 2.0.0 Bye`,
  );
  await lab.events.settled();
  const auths = lab.published.filter((e) => e.type === 'auth').map((e) => [e.user, e.ok, e.mechanism]);
  t.deepEqual(auths, [
    ['alice', false, 'PLAIN'],
    ['', false, 'PLAIN'],
    ['alice', true, 'LOGIN'],
  ]);
  const text = JSON.stringify(lab.published);
  for (const secret of ['alice-lab', 'wrong', b64('alice-lab'), b64('\0alice\0wrong')]) t.false(text.includes(secret), secret);
});

test('five failed AUTHs end the session with 421', async (t) => {
  const lab = await smtp();
  const { client } = lab.open();
  const tries = Array.from({ length: LIMITS.authFailures }, () => `C: AUTH PLAIN ${b64('\0alice\0nope')}\nS: 535 5.7.8 Error: authentication failed`).join(
    '\n',
  );
  await play(
    t,
    client,
    `S: 220 ${HOST} ESMTP labnet\nC: EHLO client.test\n${EHLO('none')}\n${tries}\nS: 421 4.7.0 ${HOST} Error: too many failed authentications\nS: <closed>`,
  );
});

test('PIPELINING: a batch of commands is answered in order, in one write, then DATA and BDAT deliver', async (t) => {
  const lab = await smtp();
  const { client, conn } = lab.open();
  await play(t, client, `S: 220 ${HOST} ESMTP labnet\nC: EHLO client.test\n${EHLO('none')}`);
  const writesBefore = conn.bytesOut;
  let chunks = 0;
  client.end.on('data', () => chunks++);
  await play(
    t,
    client,
    `
    C: MAIL FROM:<bob@lab.test>
    C: RCPT TO:<alice@lab.test>
    C: RCPT TO:<nobody@lab.test>
    C: RCPT TO:<bob@LAB.TEST>
    C: DATA
    S: 250 2.1.0 Ok
    S: 250 2.1.5 Ok
    S: 550 5.1.1 <nobody@lab.test>: Recipient address rejected: User unknown in local recipient table
    S: 250 2.1.5 Ok
    S: 354 End data with <CR><LF>.<CR><LF>`,
  );
  t.is(chunks, 1, 'the five replies left in one write');
  t.true(conn.bytesOut > writesBefore);
  await play(
    t,
    client,
    `
    C: Subject: pipelined
    C:
    C: ..a dot-stuffed line
    C: .
    S~ 250 2\\.0\\.0 Ok: queued as [0-9A-F]{12}
    C: MAIL FROM:<> BODY=8BITMIME
    C: RCPT TO:<alice@lab.test>
    C: BDAT 12
    C: Subject: b
    C: BDAT 5 LAST
    C:
    C: x
    S: 250 2.1.0 Ok
    S: 250 2.1.5 Ok
    S: 250 2.0.0 12 octets received
    S~ 250 2\\.0\\.0 Ok: queued as [0-9A-F]{12}
    C: QUIT
    S: 221 2.0.0 Bye
    S: <closed>`,
  );
  const inbox = await lab.store.open('alice', 'INBOX');
  t.is(inbox.messages.length, 2);
  t.is(lab.stats.messages, 2);
});

test('TLS policy: STARTTLS offered or not (tls.offerStartTls), AUTH refused before TLS (tls.requireTlsForAuth)', async (t) => {
  const material = { upgradeOptions: () => ({}) };
  const offered = await smtp({ tls: new TlsPolicy({ offerStartTls: true, requireTlsForAuth: false, ...material }) });
  await play(t, offered.open().client, `S: 220 ${HOST} ESMTP labnet\nC: EHLO client.test\n${EHLO('starttls')}\nC: QUIT\nS: 221 2.0.0 Bye`);
  const off = await smtp({ tls: new TlsPolicy({ offerStartTls: false, requireTlsForAuth: false, ...material }) });
  await play(
    t,
    off.open().client,
    `S: 220 ${HOST} ESMTP labnet\nC: EHLO client.test\n${EHLO('none')}\nC: STARTTLS\nS: 454 4.7.0 TLS not available\nC: NOOP\nS: 250 2.0.0 Ok`,
  );
  const required = await smtp({ tls: new TlsPolicy({ offerStartTls: true, requireTlsForAuth: true, ...material }) });
  await play(
    t,
    required.open().client,
    `
    S: 220 ${HOST} ESMTP labnet
    C: EHLO client.test
    ${EHLO('no-auth')}
    C: AUTH PLAIN ${b64('\0alice\0alice-lab')}
    S: 530 5.7.0 Must issue a STARTTLS command first`,
  );
});

test('the idle timeout reply comes from the catalogue and is published as a reply event', async (t) => {
  const lab = await smtp({ config: { commandTimeoutMs: 200 } });
  const { client } = lab.open();
  await play(t, client, `S: 220 ${HOST} ESMTP labnet\nS: 421 4.4.2 ${HOST} Error: timeout exceeded\nS: <closed>`);
  await lab.events.settled();
  const replies = lab.published.filter((e) => e.type === 'reply').map((e) => e.text);
  t.deepEqual(replies, [`220 ${HOST} ESMTP labnet`, `421 4.4.2 ${HOST} Error: timeout exceeded`]);
});

test('interceptor: replaces the greeting, a command or a delivery, delays a command, closes the connection', async (t) => {
  const steps: SessionStep[] = [];
  const interceptor: Interceptor = (_s, step) => {
    steps.push(step);
    if (step.kind === 'command' && step.name === 'VRFY') return { reply: '550 5.1.1 injected: no such user' };
    if (step.kind === 'command' && step.name === 'NOOP') return { delayMs: 150 };
    if (step.kind === 'command' && step.name === 'RSET') return { close: true };
    if (step.kind === 'message') return { reply: '452 4.3.1 injected: insufficient system storage' };
    return undefined;
  };
  const lab = await smtp({ interceptor });
  const { client } = lab.open();
  await play(
    t,
    client,
    `
    S: 220 ${HOST} ESMTP labnet
    C: EHLO client.test
    ${EHLO('none')}
    C: AUTH PLAIN ${b64('\0alice\0alice-lab')}
    S: 235 2.7.0 Authentication successful
    C: VRFY alice
    S: 550 5.1.1 injected: no such user
    C: MAIL FROM:<bob@lab.test>
    C: RCPT TO:<alice@lab.test>
    C: DATA
    S: 250 2.1.0 Ok
    S: 250 2.1.5 Ok
    S: 354 End data with <CR><LF>.<CR><LF>
    C: Subject: never stored
    C:
    C: x
    C: .
    S: 452 4.3.1 injected: insufficient system storage
    C: RCPT TO:<alice@lab.test>
    S: 503 5.5.1 Error: need MAIL command`,
  );
  const t0 = performance.now();
  await play(t, client, 'C: NOOP\nS: 250 2.0.0 Ok');
  const delayedBy = performance.now() - t0;
  t.true(delayedBy >= 140, `NOOP answered after ${delayedBy} ms`);
  await play(t, client, 'C: RSET\nS: <closed>');
  t.is((await lab.store.open('alice', 'INBOX')).messages.length, 0, 'the intercepted message was not delivered');
  t.deepEqual(steps[0], { kind: 'greeting' });
  t.true(steps.some((s) => s.kind === 'command' && s.name === 'AUTH' && s.line === 'AUTH PLAIN <redacted>'));
  t.true(steps.some((s) => s.kind === 'message' && s.name === 'DATA' && s.size > 0));

  const greeting = await smtp({ interceptor: (_s, step) => (step.kind === 'greeting' ? { reply: '554 5.3.2 injected: no service', close: true } : undefined) });
  await play(t, greeting.open().client, 'S: 554 5.3.2 injected: no service\nS: <closed>');
});
