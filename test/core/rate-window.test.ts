import test from 'ava';
import fc from 'fast-check';
import { RateWindow, TokenBucket } from '../../core/rate-window.js';

test('a fixed window admits at most max per window, starts afresh after it, and 0 means no limit', (t) => {
  let now = 1000;
  const w = new RateWindow(3, 100, () => now);
  t.deepEqual(
    Array.from({ length: 5 }, () => w.admit()),
    [true, true, true, false, false],
  );
  now = 1099;
  t.false(w.admit(), 'still the same window');
  now = 1100;
  t.true(w.admit(), 'a new window');
  w.max = 0;
  t.true(Array.from({ length: 100 }, () => w.admit()).every(Boolean));
});

test('a token bucket admits its burst at once, then its rate, refills while quiet up to the burst, and rate 0 means no limit', (t) => {
  let now = 50_000;
  const b = new TokenBucket(100, 5, () => now);
  t.deepEqual(
    Array.from({ length: 7 }, () => b.admit()),
    [true, true, true, true, true, false, false],
  );
  now += 9;
  t.false(b.admit(), '0.9 of a token is not one');
  now += 1;
  t.deepEqual([b.admit(), b.admit()], [true, false], 'a hundredth of a second: one more');
  now += 60_000;
  t.is(Array.from({ length: 20 }, () => b.admit()).filter(Boolean).length, 5, 'a long quiet spell refills the burst, no more');
  t.true(b.admit(now + 10), 'a reading handed in is used instead of the clock');
  const open = new TokenBucket(0, 0, () => now);
  t.true(Array.from({ length: 1000 }, () => open.admit()).every(Boolean));
});

test('property: in any stretch of time a token bucket admits at most its burst plus its rate times the stretch, and always its first call', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 400 }),
      (rate, burst, steps) => {
        let now = 1_000_000;
        const b = new TokenBucket(rate, burst, () => now);
        const admitted: number[] = [];
        for (const dt of steps) {
          now += dt;
          if (b.admit()) admitted.push(now);
        }
        // Every window [admitted[i], admitted[j]]: j - i + 1 admissions.
        for (let i = 0; i < admitted.length; i++) {
          for (let j = i; j < admitted.length; j++) {
            const allowed = burst + (rate * (admitted[j] - admitted[i])) / 1000;
            if (j - i + 1 > allowed + 1e-9) return false;
          }
        }
        // The first call after the start always has the whole burst.
        return admitted.length > 0 && admitted[0] === 1_000_000 + steps[0];
      },
    ),
    { numRuns: 200 },
  );
  t.pass();
});

test('property: nextAt, read right after a refusal, is when the bucket admits again', (t) => {
  const copy = (b: TokenBucket): TokenBucket => Object.assign(Object.create(TokenBucket.prototype) as TokenBucket, b);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 200, size: 'max' }),
      (rate, burst, steps) => {
        let now = 1_000_000;
        const bucket = new TokenBucket(rate, burst, () => now);
        for (const step of steps) {
          now += step;
          if (bucket.admit()) continue;
          const at = bucket.nextAt();
          // Refused until just before that moment, admitted just after it (float rounding either side).
          if (!(at >= now)) return false;
          if (copy(bucket).admit(at - 1e-3)) return false;
          if (!copy(bucket).admit(at + 1e-3)) return false;
        }
        return true;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});
