// Queue ids (services/smtp/queue-id.ts) are drawn from a pool of random octets: across refills of
// the pool they keep their format and never repeat.
import test from 'ava';
import { newQueueId } from '../../services/smtp/queue-id.js';

test('queue ids are 12 upper-case hex digits and distinct across pool refills', (t) => {
  const ids = Array.from({ length: 1000 }, () => newQueueId());
  for (const id of ids) t.regex(id, /^[0-9A-F]{12}$/);
  t.is(new Set(ids).size, ids.length);
});
