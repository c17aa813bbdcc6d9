// The failed-login throttle (core/throttle.ts) and the process-wide connection budget
// (core/connection-budget.ts), on a fake clock.
import test from 'ava';
import fc from 'fast-check';
import { ConnectionBudget } from '../../core/connection-budget.js';
import { LoginThrottle, isThrottled, throttleConfigSchema } from '../../core/throttle.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void; sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return { now: () => t, advance: (ms) => (t += ms), sleeps };
}

function throttle(over: Record<string, unknown> = {}) {
  const clock = fakeClock();
  const th = new LoginThrottle(throttleConfigSchema.parse(over), clock.now, (ms) => {
    clock.sleeps.push(ms);
    return Promise.resolve();
  });
  return { th, clock };
}

const wrong = () => ({ ok: false });
const right = () => ({ ok: true, user: 'alice' });

test('the first failures are free, then each waits twice as long up to the cap', async (t) => {
  const { th, clock } = throttle({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 400 });
  for (let i = 0; i < 6; i++) await th.attempt('10.0.0.1', 'alice', wrong);
  // Slots are serialized: without time passing, each failure waits behind the previous ones.
  t.deepEqual(clock.sleeps, [100, 300, 700, 1100]);
});

test('parallel failures from one address are answered one slot after another', async (t) => {
  const { th } = throttle({ freeFailures: 0, baseDelayMs: 1000, maxDelayMs: 1000, refuseAfterMs: 60_000 });
  const waits = [];
  for (let i = 0; i < 16; i++) waits.push(th.failed('10.0.0.1', `user${i}`));
  // 16 connections guessing 16 accounts at once: one answer a second, whatever the parallelism.
  t.deepEqual(
    waits,
    Array.from({ length: 16 }, (_, i) => (i + 1) * 1000),
  );
});

test('an address with a long backlog is refused unchecked; the right password of the real user from elsewhere is not delayed', async (t) => {
  const { th, clock } = throttle({ freeFailures: 0, baseDelayMs: 2000, maxDelayMs: 2000, refuseAfterMs: 5000 });
  let checks = 0;
  const counted = () => {
    checks++;
    return { ok: false };
  };
  const results = [];
  for (let i = 0; i < 6; i++) results.push(await th.attempt('10.0.0.66', 'alice', counted));
  t.is(checks, 3, 'after 3 slots (6 s > 5 s of backlog) the password is no longer checked');
  const refused = results.filter(isThrottled);
  t.is(refused.length, 3);
  t.true(refused[0].retryAfterMs > 0);
  // alice from her own address: her failures' answers wait behind the account's slots, but she is
  // never refused, and the right password is answered at once.
  clock.sleeps.length = 0;
  const mine = await th.attempt('10.0.0.5', 'alice', right);
  t.true(mine.ok);
  t.deepEqual(clock.sleeps, []);
  // Time passes: the attacker may try again.
  clock.advance(10_000);
  t.false(isThrottled(await th.attempt('10.0.0.66', 'bob', wrong)));
});

test('failures are forgotten after forgetMs; the account spelling does not matter', async (t) => {
  const { th, clock } = throttle({ freeFailures: 1, baseDelayMs: 100, maxDelayMs: 100, forgetMs: 5000 });
  th.failed('10.0.0.1', 'Alice@lab.test');
  t.is(th.failed('10.0.0.2', 'alice'), 100, 'the account key is shared by both spellings');
  clock.advance(6000);
  t.is(th.failed('10.0.0.3', 'ALICE'), 0);
});

test('memory stays bounded whatever the number of addresses and accounts', (t) => {
  const { th } = throttle({ maxEntries: 100 });
  for (let i = 0; i < 10_000; i++) th.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `u${i}`);
  const s = th.stats();
  t.is(s.addresses, 100);
  t.is(s.accounts, 100);
});

test('property: the wait never exceeds the backlog bound plus one slot, and a success is never delayed', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({ addr: fc.integer({ min: 0, max: 3 }), user: fc.integer({ min: 0, max: 3 }), ok: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) }),
        { maxLength: 80 },
      ),
      async (steps) => {
        const { th, clock } = throttle({ freeFailures: 1, baseDelayMs: 200, maxDelayMs: 2000, refuseAfterMs: 5000 });
        for (const s of steps) {
          clock.advance(s.dt);
          const before = clock.sleeps.length;
          const r = await th.attempt(`10.0.0.${s.addr}`, `u${s.user}`, () => ({ ok: s.ok }));
          const slept = clock.sleeps.slice(before);
          if (s.ok && !isThrottled(r)) t.deepEqual(slept, []);
          for (const ms of slept) t.true(ms <= 5000 + 2000 + 2000, `waited ${ms}`);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('connection budget: total and per-address caps, released slots come back, notices are rate-limited', (t) => {
  let now = 0;
  const b = new ConnectionBudget(5, 2, () => now, 10_000);
  t.is(b.take('a'), undefined);
  t.is(b.take('a'), undefined);
  t.is(b.take('a'), 'per-address');
  t.is(b.take('b'), undefined);
  t.is(b.take('c'), undefined);
  t.is(b.take('d'), undefined);
  t.is(b.take('e'), 'total');
  t.is(b.size, 5);
  b.release('a');
  t.is(b.take('a'), undefined);
  b.release('zzz'); // never taken: no effect
  t.is(b.size, 5);
  t.deepEqual(b.refusal('a', 'per-address'), { remote: 'a', cap: 'per-address', refused: 1 });
  t.is(b.refusal('a', 'per-address'), undefined);
  t.is(b.refusal('a', 'per-address'), undefined);
  now += 10_000;
  t.deepEqual(b.refusal('a', 'per-address'), { remote: 'a', cap: 'per-address', refused: 3 });
});
