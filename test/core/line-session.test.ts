// The line-session core: the command table (two commands with one name are an error at start-up),
// the TLS policy, the connection-level replies as events, the in-memory transport.
import test from 'ava';
import { EventBus, type ProtocolEvent } from '../../core/events.js';
import {
  CommandTable,
  CommandTableError,
  connectionReplies,
  memoryConnection,
  memoryPair,
  TlsPolicy,
  type CommandSpec,
} from '../../core/line-session/index.js';

type Spec = CommandSpec<'a' | 'b', () => void>;
const spec = (name: string, extra: Partial<Spec> = {}): Spec => ({ name, states: ['a'], handler: () => {}, ...extra });

test('command table: lookup checks the state and the argument count; two-word names and aliases', (t) => {
  const table = new CommandTable<'a' | 'b', Spec>([spec('FETCH', { minArgs: 2, maxArgs: 3 }), spec('UID FETCH', { states: ['a', 'b'] }), spec('SELECT')], {
    EXAMINE: 'SELECT',
  });
  t.is(table.lookup('FETCH', 'a', 2).kind, 'ok');
  t.is(table.lookup('FETCH', 'a', 1).kind, 'bad-args');
  t.is(table.lookup('FETCH', 'a', 4).kind, 'bad-args');
  t.is(table.lookup('FETCH', 'b', 2).kind, 'wrong-state');
  t.is(table.lookup('UID FETCH', 'b', 0).kind, 'ok');
  t.is(table.lookup('UID', 'a', 0).kind, 'unknown');
  t.is(table.get('EXAMINE'), table.get('SELECT'));
  t.is(table.lookup('NOPE', 'a', 0).kind, 'unknown');
});

test('two commands with one name are an error when the table is built (at start-up), never a silent replacement', (t) => {
  const err = t.throws(() => new CommandTable([spec('USER'), spec('PASS'), spec('USER')]), { instanceOf: CommandTableError });
  t.is(err?.code, 'DUPLICATE_COMMAND');
  t.regex(err?.message ?? '', /two commands are named USER/);
  t.throws(() => new CommandTable([spec('SELECT'), spec('EXAMINE')], { EXAMINE: 'SELECT' }), { message: /two commands are named EXAMINE/ });
  t.throws(() => new CommandTable([spec('SELECT')], { EXAMINE: 'SLECT' }), { message: /not in the table/ });
  t.throws(() => new CommandTable([spec('fetch')]), { message: /upper-case/ });
});

test('TLS policy: STARTTLS offered only when configured, possible and not yet TLS; authentication as tls.requireTlsForAuth says', (t) => {
  const plain = { isTls: false };
  const secure = { isTls: true };
  const material = { upgradeOptions: () => ({}) };
  const on = new TlsPolicy({ offerStartTls: true, requireTlsForAuth: false, ...material });
  t.true(on.startTlsOffered(plain));
  t.false(on.startTlsOffered(secure));
  t.true(on.authAllowed(plain));
  t.false(new TlsPolicy({ offerStartTls: false, requireTlsForAuth: false, ...material }).startTlsOffered(plain));
  t.false(new TlsPolicy({ offerStartTls: true, requireTlsForAuth: false }).startTlsOffered(plain), 'no TLS material, no STARTTLS');
  const required = new TlsPolicy({ offerStartTls: true, requireTlsForAuth: true, ...material });
  t.false(required.authAllowed(plain));
  t.true(required.authAllowed(secure));
  t.throws(() => TlsPolicy.none().upgradeOptions(), { message: /no TLS material/ });
  t.throws(() => TlsPolicy.none().implicitListener('smtps'), { message: /no TLS material/ });
});

test('connection-level replies are published as reply events (a refused connection gets an id of its own)', async (t) => {
  const events = new EventBus();
  const seen: ProtocolEvent[] = [];
  events.subscribe((e) => seen.push(e));
  const hooks = connectionReplies(events, 'smtp', { idle: () => '421 4.4.2 idle', busy: () => '421 4.7.0 busy' });
  const { conn } = memoryConnection({ service: 'smtp', events, maxLineLength: 100 });
  t.is(hooks.idleReply?.(conn), '421 4.4.2 idle\r\n');
  t.is(hooks.busyReply?.(), '421 4.7.0 busy\r\n');
  t.is(hooks.shutdownReply, undefined);
  await events.settled();
  const replies = seen.filter((e) => e.type === 'reply');
  t.deepEqual(
    replies.map((e) => e.text),
    ['421 4.4.2 idle', '421 4.7.0 busy'],
  );
  t.is(replies[0].session, conn.id);
  t.regex(replies[1].session ?? '', /^smtp-\d+$/);
  t.not(replies[1].session, conn.id);
  conn.destroy();
});

test('in-memory pair: what one end writes the other reads; ending one side closes both; idle timeout', async (t) => {
  const [a, b] = memoryPair();
  const got: string[] = [];
  b.setEncoding('latin1');
  b.on('data', (d: string) => got.push(d));
  a.write('hello\r\n');
  await new Promise((r) => setImmediate(r));
  t.deepEqual(got, ['hello\r\n']);
  const timedOut = new Promise<void>((resolve) => a.once('timeout', () => resolve()));
  a.setTimeout(30);
  const keepAlive = setTimeout(() => {}, 5_000); // the idle timer itself does not hold the process
  await timedOut;
  clearTimeout(keepAlive);
  const closed = Promise.all([new Promise((r) => a.once('close', r)), new Promise((r) => b.once('close', r))]);
  a.resume();
  a.end();
  await closed;
  t.pass();
});
