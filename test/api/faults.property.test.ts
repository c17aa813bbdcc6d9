// The fault rules' parsers, property-tested: any value given as a rule is either taken or refused
// with a FAULT_* code (never another error); any session step and command line the interceptor sees
// gives an answer or none without throwing; matching is as documented (`*`, case, counters).
import test from 'ava';
import fc from 'fast-check';
import type { LabnetConfig } from '../../core/config.js';
import { LabnetError } from '../../core/errors.js';
import { EventBus } from '../../core/events.js';
import { FaultInjector, faultsConfigSchema } from '../../core/faults/index.js';
import type { SessionStep } from '../../core/line-session/interceptor.js';

function injector(maxRules = 50): FaultInjector {
  const config = { faults: faultsConfigSchema.parse({ maxRules, maxDelayMs: 1000 }) } as LabnetConfig;
  return new FaultInjector(config, new EventBus());
}

const session = (o: { service?: string; user?: string; address?: string } = {}) => ({
  service: o.service ?? 'smtp',
  id: 's1',
  user: o.user,
  conn: { peer: { address: o.address ?? '127.0.0.1' } },
});

test('any value as a rule: taken, or refused with a FAULT_* code', (t) => {
  const f = injector(1000);
  fc.assert(
    fc.property(fc.anything({ maxDepth: 2 }), (v) => {
      f.clear();
      try {
        f.add(v as never);
        return true;
      } catch (err) {
        return err instanceof LabnetError && err.code.startsWith('FAULT_');
      }
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(
      fc.record({
        at: fc.string({ maxLength: 50 }),
        user: fc.string({ maxLength: 300 }),
        recipient: fc.string({ maxLength: 300 }),
        reply: fc.oneof(fc.string({ maxLength: 600 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 30 })),
        delayMs: fc.integer({ min: -5, max: 5000 }),
      }),
      (r) => {
        f.clear();
        try {
          f.add(r);
          return true;
        } catch (err) {
          return err instanceof LabnetError && err.code.startsWith('FAULT_');
        }
      },
    ),
  );
  t.pass();
});

const step: fc.Arbitrary<SessionStep> = fc.oneof(
  fc.constant({ kind: 'greeting' as const }),
  fc.record({ kind: fc.constant('message' as const), name: fc.constantFrom('DATA' as const, 'BDAT' as const), size: fc.nat() }),
  fc.record(
    {
      kind: fc.constant('command' as const),
      name: fc.constantFrom('MAIL', 'RCPT', 'RSET', 'EHLO', 'LOGIN', 'USER', 'UID FETCH', 'RETR'),
      line: fc.string({ maxLength: 2000 }),
      tag: fc.string({ maxLength: 10 }),
    },
    { requiredKeys: ['kind', 'name', 'line'] },
  ),
);

test('any step and command line: an answer or none, never a throw', (t) => {
  const f = injector();
  f.add({ recipient: '*@lab.test', reply: '450 x' });
  f.add({ sender: 'a*b', user: 'al*', client: '10.*', probability: 0.3, seed: 9, delayMs: 1 });
  f.add({ service: 'imap', at: 'UID FETCH', reply: ['* BYE', 'NO x'] });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 30 }), fc.string({ maxLength: 40 }), (steps, user) => {
      const s = session({ user, address: '10.0.0.1' });
      for (const st of steps) {
        const a = f.interceptor(s, st);
        if (a !== undefined && !(a instanceof Promise) && a.reply !== undefined) for (const l of a.reply) if (/[\r\n]/.test(l)) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('patterns: * and case; counters; IMAP tag placement', (t) => {
  const f = injector();
  f.add({ id: 'r', at: 'RCPT', recipient: 'BOB@*', reply: '450 x', after: 1, times: 1 });
  const s = session();
  const rcpt = (to: string): SessionStep => ({ kind: 'command', name: 'RCPT', line: `RCPT TO:<${to}> NOTIFY=NEVER` });
  t.is(f.interceptor(s, rcpt('bob@lab.test')), undefined); // after: 1 lets the first pass
  t.deepEqual(f.interceptor(s, rcpt('Bob@Lab.Test')), { reply: ['450 x'] });
  t.is(f.interceptor(s, rcpt('bob@lab.test')), undefined); // times: 1
  t.is(f.interceptor(s, rcpt('alice@lab.test')), undefined);
  t.like(f.get('r'), { matched: 3, applied: 1 });
  f.add({ service: 'imap', at: 'fetch', reply: 'NO [UNAVAILABLE] x' });
  f.add({ service: 'imap', at: 'search', reply: ['* SEARCH', '{tag} OK done {tag}'] });
  const imap = session({ service: 'imap' });
  t.deepEqual(f.interceptor(imap, { kind: 'command', name: 'FETCH', line: 'a1 FETCH 1 BODY[]', tag: 'a1' }), { reply: ['a1 NO [UNAVAILABLE] x'] });
  t.deepEqual(f.interceptor(imap, { kind: 'command', name: 'SEARCH', line: 'a2 SEARCH ALL', tag: 'a2' }), { reply: ['* SEARCH', 'a2 OK done a2'] });
});
