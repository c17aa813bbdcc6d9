// The packet capture listens for session.open passively: the per-command dialogue stays unbuilt.
import test from 'ava';
import { EventBus } from '../../core/events.js';

test('a passive subscriber gets its events without turning the dialogue on', async (t) => {
  const bus = new EventBus();
  const got: string[] = [];
  const passive = bus.subscribe((e) => got.push(e.type), { types: ['session.open'], passive: true });
  t.false(bus.active, 'hot paths still skip commands and replies');
  t.true(bus.wants('session.open'), 'session.open is still published for it');
  bus.publish({
    type: 'session.open',
    service: 'smtp',
    session: 'smtp-1',
    peer: { address: '127.0.0.1', port: 1 },
    local: { address: '127.0.0.1', port: 25 },
    tls: false,
  });
  await bus.settled();
  t.deepEqual(got, ['session.open']);
  const normal = bus.subscribe(() => {}, { types: ['session.open'] });
  t.true(bus.active, 'an ordinary subscriber to session.open turns the dialogue on, as before');
  normal.unsubscribe();
  t.false(bus.active);
  passive.unsubscribe();
  t.false(bus.wants('session.open'));
});
