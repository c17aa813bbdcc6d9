// Sequence sets normalised once (issue 14): property tests against a plain reference, and hostile
// sets (thousands of repeats) that must cost no more than the mailbox's size.
import test from 'ava';
import fc from 'fast-check';
import { inSet, normalise, normaliseSet, parseSequenceSet, seqNumbers, uidIndexes, type SequenceSet } from '../../services/imap/sequence-set.js';

/** The reference: every number of every range, as the RFC defines the set. */
function reference(set: SequenceSet, max: number, universe: readonly number[]): number[] {
  const want = new Set<number>();
  for (const { from, to } of set) {
    const a = from === 0 ? max : from;
    const b = to === 0 ? max : to;
    for (const n of universe) if (n >= Math.min(a, b) && n <= Math.max(a, b)) want.add(n);
  }
  return [...want].sort((x, y) => x - y);
}

const setText = fc
  .array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant('*')), fc.option(fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant('*')))), {
    minLength: 1,
    maxLength: 12,
  })
  .map((parts) => parts.map(([a, b]) => (b === null ? String(a) : `${a}:${b}`)).join(','));

test('property: merged ranges are ascending, disjoint, and select exactly what the ranges name', (t) => {
  fc.assert(
    fc.property(setText, fc.integer({ min: 0, max: 50 }), (text, count) => {
      const set = parseSequenceSet(text)!;
      const ranges = normalise(set, count);
      for (let i = 1; i < ranges.length; i++) if (ranges[i][0] <= ranges[i - 1][1] + 1) return false;
      for (const [a, b] of ranges) if (a > b) return false;
      const universe = Array.from({ length: count }, (_, i) => i + 1);
      const want = count === 0 ? [] : reference(set, count, universe).filter((n) => n <= count);
      t.deepEqual(
        seqNumbers(set, count).filter((n) => n <= count),
        want,
      );
      for (let n = 1; n <= 62; n++) if (inSet(set, n, count) !== reference(set, count, [n]).length > 0) return false;
      return true;
    }),
    { numRuns: 500 },
  );
});

test('property: UID sets over sparse UIDs give each index once, ascending; N:* includes the last message', (t) => {
  fc.assert(
    fc.property(setText, fc.uniqueArray(fc.integer({ min: 1, max: 70 }), { maxLength: 30 }), (text, raw) => {
      const uids = raw.sort((a, b) => a - b);
      const set = parseSequenceSet(text)!;
      const got = uidIndexes(set, uids).map((i) => uids[i]);
      const want = uids.length === 0 ? [] : reference(set, uids[uids.length - 1], uids);
      t.deepEqual(got, want);
    }),
    { numRuns: 500 },
  );
  t.deepEqual(uidIndexes(parseSequenceSet('90:*')!, [3, 5, 8]), [2], 'N:* above the last UID is the last message');
});

test('hostile: 1:* repeated 20,000 times is merged into one range and selects each message once', (t) => {
  const text = Array.from({ length: 20_000 }, () => '1:*').join(',');
  const set = parseSequenceSet(text)!;
  t.is(set.length, 20_000);
  t.deepEqual(normalise(set, 5000), [[1, 5000]]);
  const uids = Array.from({ length: 5000 }, (_, i) => i * 2 + 1);
  t.is(uidIndexes(set, uids).length, 5000);
  t.is(seqNumbers(set, 5000).length, 5000);
  // SEARCH tests one number at a time: the set is normalised once per (set, max), not per message.
  t.is(normaliseSet(set, 5000), normaliseSet(set, 5000));
  t.not(normaliseSet(set, 5001), normaliseSet(set, 5000));
  t.true(inSet(set, 4999, 5001));
});
