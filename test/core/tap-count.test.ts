import test from 'ava';
import { TapCounter } from '../support/tap-count.js';

const count = (lines: string[], exitCode: number | null) => {
  const c = new TapCounter();
  for (const l of lines) c.line(l);
  return c.finish(exitCode);
};

test('passing and failing tests are counted; SKIP and TODO are neither', (t) => {
  const r = count(['ok 1 - a', 'not ok 2 - b', 'ok 3 - c # SKIP', 'ok 4 - d'], 1);
  t.is(r.passed, 2);
  t.is(r.failed, 1);
  t.is(r.skipped, 1);
  t.deepEqual(r.failures, ['b']);
});

test('a runner that exits non-zero without a failing test counts as one failure (crash, timeout)', (t) => {
  const r = count(['ok 1 - a', 'ok 2 - b'], 1);
  t.is(r.passed, 2);
  t.is(r.failed, 1);
  t.regex(r.failures[0], /exited with code 1/);
});

test('a runner killed by a signal counts as a failure', (t) => {
  const r = count(['ok 1 - a'], null);
  t.is(r.failed, 1);
  t.regex(r.failures[0], /killed/);
});

test('no tests at all is a failure, even with exit code 0', (t) => {
  const r = count([], 0);
  t.is(r.passed, 0);
  t.is(r.failed, 1);
});

test("ava's own trailer wins when it counts more failures (tests that never ran after a failed hook)", (t) => {
  const r = count(['ok 1 - a', 'not ok 2 - before hook', '# pass 1', '# fail 3'], 1);
  t.is(r.failed, 3);
  t.is(r.passed, 1);
});

test('a clean run is clean', (t) => {
  const r = count(['ok 1 - a', 'ok 2 - b', '# pass 2', '# fail 0'], 0);
  t.deepEqual([r.passed, r.failed], [2, 0]);
});
