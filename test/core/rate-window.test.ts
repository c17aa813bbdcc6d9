import test from 'ava';
import { RateWindow } from '../../core/rate-window.js';

test('a fixed window admits at most max per window, starts afresh after it, and 0 means no limit', (t) => {
  let now = 1000;
  let rolls = 0;
  const w = new RateWindow(
    3,
    100,
    () => now,
    () => rolls++,
  );
  t.deepEqual(
    Array.from({ length: 5 }, () => w.admit()),
    [true, true, true, false, false],
  );
  t.is(w.windowEnd, 1100);
  t.is(rolls, 1);
  now = 1099;
  t.false(w.admit(), 'still the same window');
  now = 1100;
  t.true(w.admit(), 'a new window');
  t.is(rolls, 2);
  w.max = 0;
  t.true(Array.from({ length: 100 }, () => w.admit()).every(Boolean));
  w.max = 1;
  w.restart();
  t.deepEqual([w.admit(), w.admit()], [true, false], 'restart: the next admission opens a fresh window');
});
