// The session's view of the maildrop: numbers, sizes, deletion marks, and the lock.
import test from 'ava';
import { Capabilities, defaultCapabilities } from '../../services/pop3/capabilities.js';
import { Maildrop, parseMessageNumber } from '../../services/pop3/maildrop.js';
import { Pop3Error } from '../../services/pop3/replies.js';

const drop = () =>
  new Maildrop('alice', [
    { uid: 'a', size: 100 },
    { uid: 'b', size: 200 },
    { uid: 'c', size: 300 },
  ]);

test('counts and sizes leave out deleted messages; RSET restores them', (t) => {
  const d = drop();
  t.is(d.count, 3);
  t.is(d.size, 600);
  d.markDeleted(2);
  d.markDeleted(2);
  t.is(d.count, 2);
  t.is(d.size, 400);
  t.is(d.highest, 3);
  t.deepEqual(
    d.markedForDeletion().map((e) => e.uid),
    ['b'],
  );
  d.reset();
  t.is(d.count, 3);
  t.is(d.size, 600);
  t.deepEqual(d.markedForDeletion(), []);
});

test('bad message numbers get coded errors', (t) => {
  const d = drop();
  const code = (arg: string) => {
    try {
      d.resolve(arg);
      return 'ok';
    } catch (err) {
      return (err as Pop3Error).code;
    }
  };
  t.is(code('1'), 'ok');
  t.is(code('0'), 'NO_SUCH_MESSAGE');
  t.is(code('4'), 'NO_SUCH_MESSAGE');
  t.is(code('-1'), 'BAD_SYNTAX');
  t.is(code('1x'), 'BAD_SYNTAX');
  t.is(code('99999999999999999999'), 'BAD_SYNTAX');
  d.markDeleted(1);
  t.is(code('1'), 'MESSAGE_DELETED');
  t.is(parseMessageNumber('007'), 7);
});

test('capabilities: per state, and STLS, USER and SASL as the TLS policy decides', (t) => {
  const caps = defaultCapabilities('labnet');
  const plain = { startTlsOffered: true, authAllowed: true };
  const auth = caps.lines('AUTHORIZATION', plain);
  for (const c of ['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'IMPLEMENTATION labnet', 'STLS'])
    t.true(auth.includes(c), c);
  t.is(auth[auth.length - 1], 'STLS');
  const trans = caps.lines('TRANSACTION', plain);
  t.false(trans.includes('USER'));
  t.false(trans.includes('STLS'));
  t.true(trans.includes('UIDL'));
  t.false(caps.lines('AUTHORIZATION', { startTlsOffered: false, authAllowed: true }).includes('STLS'));
  const beforeTls = caps.lines('AUTHORIZATION', { startTlsOffered: true, authAllowed: false });
  t.false(beforeTls.includes('USER'));
  t.false(beforeTls.some((c) => c.startsWith('SASL')));
  t.throws(
    () =>
      new Capabilities([
        { line: 'TOP', states: ['TRANSACTION'] },
        { line: 'TOP 1', states: ['TRANSACTION'] },
      ]),
    { message: /listed twice/ },
  );
});
