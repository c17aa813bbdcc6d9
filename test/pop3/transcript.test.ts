// POP3 transcripts: the session state machine driven over an in-memory pair (no socket), every reply
// compared exactly. Greeting and CAPA, wrong states, unknown commands, bad arguments, too many errors,
// USER/PASS and AUTH PLAIN exchanges, PIPELINING, QUIT and UPDATE, the TLS policy's switches and the
// interceptor.
import test from 'ava';
import { TlsPolicy, type Interceptor } from '../../core/line-session/index.js';
import { defaultCapabilities } from '../../services/pop3/capabilities.js';
import { pop3CommandTable } from '../../services/pop3/commands/index.js';
import { POP3_LIMITS } from '../../services/pop3/limits.js';
import { Pop3Session } from '../../services/pop3/session.js';
import { StoreMaildrop } from '../../services/pop3/store-maildrop.js';
import { b64, closeMailFixtures, mailFixture, play, transcriptLab } from '../core/line-transcript.js';
import { message } from './helpers.js';

const GREETING = 'S~ \\+OK labnet POP3 server ready <\\d+\\.\\d+\\.\\d+@labnet\\.lab\\.test>';

async function pop3(o: { tls?: TlsPolicy; interceptor?: Interceptor; maxErrors?: number; messages?: string[] } = {}) {
  const { store, accounts } = await mailFixture(o.messages);
  const commands = pop3CommandTable();
  const capabilities = defaultCapabilities('labnet');
  const maildrops = new StoreMaildrop(store);
  const lab = transcriptLab(
    'pop3',
    POP3_LIMITS.maxSaslResponse,
    (conn, events) =>
      new Pop3Session(conn, {
        events,
        accounts,
        store: maildrops,
        capabilities,
        commands,
        hostname: 'labnet.lab.test',
        implementation: 'labnet',
        maxErrors: o.maxErrors ?? 20,
        tls: o.tls ?? TlsPolicy.none(),
        interceptor: o.interceptor,
      }),
  );
  return { ...lab, store };
}

test.after.always(closeMailFixtures);

const CAPA = (extra: { stls?: boolean; auth?: boolean } = {}) => `
  S: +OK capability list follows
  S: TOP
  S: UIDL
  ${extra.auth === false ? '' : 'S: USER\n  S: SASL PLAIN'}
  S: RESP-CODES
  S: AUTH-RESP-CODE
  S: PIPELINING
  S: EXPIRE NEVER
  S: IMPLEMENTATION labnet
  ${extra.stls ? 'S: STLS' : ''}
  S: .`;

const M1 = message('one', 'first\r\n');
const M2 = message('two', '.dotted\r\n');

test('AUTHORIZATION: CAPA, wrong state, unknown command, bad arguments, USER/PASS, AUTH PLAIN exchange', async (t) => {
  const lab = await pop3({ messages: [M1, M2] });
  const { client } = lab.open();
  const total = Buffer.byteLength(M1) + Buffer.byteLength(M2);
  await play(
    t,
    client,
    `
    ${GREETING}
    C: CAPA
    ${CAPA()}
    C: STAT
    S: -ERR STAT is not allowed in the AUTHORIZATION state: log in first
    C: FROB x
    S: -ERR unknown command "FROB"
    C: USER
    S: -ERR usage: USER name
    C: PASS x
    S: -ERR send USER first
    C: USER alice
    S: +OK send PASS
    C: PASS wrong
    S: -ERR [AUTH] invalid user name or password
    C: AUTH
    S: +OK SASL mechanisms follow
    S: PLAIN
    S: .
    C: AUTH PLAIN
    S: + 
    C: *
    S: -ERR authentication cancelled
    C: AUTH PLAIN
    S: + 
    C: ${b64('\0alice\0alice-lab')}
    S: +OK alice's maildrop has 2 messages (${total} octets)
    C: USER alice
    S: -ERR USER is not allowed in the TRANSACTION state
    C: QUIT
    S: +OK labnet POP3 server signing off (2 messages left)
    S: <closed>`,
  );
  await lab.events.settled();
  const commands = lab.published.filter((e) => e.type === 'command').map((e) => e.text);
  t.true(commands.includes('PASS <redacted>'));
  t.true(commands.includes('FROB <redacted>'), 'an unknown command keeps only its keyword');
  t.false(JSON.stringify(lab.published).includes('alice-lab'));
  t.deepEqual(
    lab.published.filter((e) => e.type === 'auth').map((e) => [e.user, e.ok, e.mechanism]),
    [
      ['alice', false, 'USER/PASS'],
      ['alice', true, 'AUTH PLAIN'],
    ],
  );
});

test('PIPELINING: a batch is answered in order in one write; DELE takes effect at QUIT (UPDATE)', async (t) => {
  const lab = await pop3({ messages: [M1, M2] });
  const { client, conn } = lab.open();
  const s1 = Buffer.byteLength(M1);
  const s2 = Buffer.byteLength(M2);
  await play(t, client, `${GREETING}\nC: USER alice\nC: PASS alice-lab\nS: +OK send PASS\nS: +OK alice's maildrop has 2 messages (${s1 + s2} octets)`);
  let chunks = 0;
  client.end.on('data', () => chunks++);
  const before = conn.bytesOut;
  const body2 = M2.split('\r\n').slice(0, -1);
  await play(
    t,
    client,
    `
    C: STAT
    C: LIST
    C: UIDL 9
    C: DELE 1
    C: RETR 2
    C: STAT
    S: +OK 2 ${s1 + s2}
    S: +OK 2 messages (${s1 + s2} octets)
    S: 1 ${s1}
    S: 2 ${s2}
    S: .
    S: -ERR no such message 9: maildrop has messages 1 to 2
    S: +OK message 1 marked as deleted
    S: +OK ${s2} octets
    ${body2.map((l) => `S: ${l.startsWith('.') ? `.${l}` : l}`).join('\n')}
    S: .
    S: +OK 1 ${s2}`,
  );
  t.is(chunks, 1, 'six replies, one write');
  t.true(conn.bytesOut > before);
  await play(t, client, 'C: QUIT\nS: +OK labnet POP3 server signing off (1 message left)\nS: <closed>');
  const inbox = await lab.store.open('alice', 'INBOX');
  t.is(inbox.messages.length, 1);
});

test('too many errors end the session', async (t) => {
  const lab = await pop3({ maxErrors: 3 });
  await play(
    t,
    lab.open().client,
    `
    ${GREETING}
    C: FROB
    C: NOOP
    C: USER
    S: -ERR unknown command "FROB"
    S: -ERR NOOP is not allowed in the AUTHORIZATION state: log in first
    S: -ERR usage: USER name (too many errors, closing the connection)
    S: <closed>`,
  );
});

test('TLS policy: STLS offered or not (tls.offerStartTls), USER/PASS/APOP/AUTH refused before TLS (tls.requireTlsForAuth)', async (t) => {
  const material = { upgradeOptions: () => ({}) };
  const offered = await pop3({ tls: new TlsPolicy({ offerStartTls: true, requireTlsForAuth: false, ...material }) });
  await play(t, offered.open().client, `${GREETING}\nC: CAPA\n${CAPA({ stls: true })}`);
  const off = await pop3({ tls: new TlsPolicy({ offerStartTls: false, requireTlsForAuth: false, ...material }) });
  await play(t, off.open().client, `${GREETING}\nC: CAPA\n${CAPA()}\nC: STLS\nS: -ERR STLS is not offered on this server`);
  const required = await pop3({ tls: new TlsPolicy({ offerStartTls: true, requireTlsForAuth: true, ...material }) });
  await play(
    t,
    required.open().client,
    `
    ${GREETING}
    C: CAPA
    ${CAPA({ stls: true, auth: false })}
    C: USER alice
    S: -ERR [AUTH] authentication needs TLS first: send STLS (or use the POP3S port)
    C: AUTH PLAIN ${b64('\0alice\0alice-lab')}
    S: -ERR [AUTH] authentication needs TLS first: send STLS (or use the POP3S port)
    C: APOP alice 0123456789abcdef0123456789abcdef
    S: -ERR [AUTH] authentication needs TLS first: send STLS (or use the POP3S port)`,
  );
});

test('interceptor: a replaced RETR, a delayed greeting', async (t) => {
  const lab = await pop3({
    messages: [M1],
    interceptor: (_s, step) => {
      if (step.kind === 'greeting') return { delayMs: 100 };
      if (step.kind === 'command' && step.name === 'RETR') return { reply: '-ERR [SYS/TEMP] injected: try again later' };
      return undefined;
    },
  });
  const t0 = performance.now();
  const { client } = lab.open();
  await play(t, client, GREETING);
  const greetedAfter = performance.now() - t0;
  t.true(greetedAfter >= 95, `greeting after ${greetedAfter} ms`);
  await play(
    t,
    client,
    `
    C: USER alice
    C: PASS alice-lab
    C: RETR 1
    C: LIST 1
    S: +OK send PASS
    S: +OK alice's maildrop has 1 message (${Buffer.byteLength(M1)} octets)
    S: -ERR [SYS/TEMP] injected: try again later
    S: +OK 1 ${Buffer.byteLength(M1)}`,
  );
});
