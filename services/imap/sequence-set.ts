// Sequence sets (RFC 3501 section 9, "sequence-set"): "1:3,7,9:*", ranges in either order, "*" is the
// largest number in use. Parsed once, evaluated against a mailbox's sequence numbers or UIDs.

export interface SeqRange {
  /** 0 stands for "*". */
  from: number;
  to: number;
}

export type SequenceSet = SeqRange[];

const MAX = 0xffffffff;

/** Parses a sequence set; undefined when malformed (the caller answers BAD). "$" is not supported. */
export function parseSequenceSet(text: string): SequenceSet | undefined {
  if (text.length === 0 || text.length > 100_000) return undefined;
  const out: SequenceSet = [];
  for (const part of text.split(',')) {
    const m = /^(\d+|\*)(?::(\d+|\*))?$/.exec(part);
    if (!m) return undefined;
    const a = m[1] === '*' ? 0 : Number(m[1]);
    const b = m[2] === undefined ? a : m[2] === '*' ? 0 : Number(m[2]);
    if ((m[1] !== '*' && (a < 1 || a > MAX)) || (m[2] !== undefined && m[2] !== '*' && (b < 1 || b > MAX))) return undefined;
    out.push({ from: a, to: b });
  }
  return out;
}

/**
 * A sequence set resolved against one mailbox state: disjoint ranges in ascending order, merged once.
 * `1:*,1:*,...` repeated thousands of times costs one sort of its ranges here, and every later use
 * (each message of a SEARCH, each index of a FETCH) walks at most the merged ranges, never the text's
 * repeats (issue 14: a 100,000-character set used to expand to hundreds of millions of entries).
 */
export class NormalisedSet {
  /** Ascending, disjoint, non-adjacent [from, to] pairs, inclusive. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;

  constructor(set: SequenceSet, max: number) {
    const rs = set.map(({ from, to }): [number, number] => {
      const a = from === 0 ? max : from;
      const b = to === 0 ? max : to;
      return a <= b ? [a, b] : [b, a];
    });
    rs.sort((x, y) => x[0] - y[0]);
    const out: Array<[number, number]> = [];
    for (const r of rs) {
      const last = out[out.length - 1];
      if (last !== undefined && r[0] <= last[1] + 1) {
        if (r[1] > last[1]) last[1] = r[1];
      } else out.push(r);
    }
    this.ranges = out;
  }

  /** True when n is in the set: a binary search over the merged ranges. */
  has(n: number): boolean {
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = rs[mid];
      if (n < a) hi = mid - 1;
      else if (n > b) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

/**
 * The last normalisation of each parsed set, so callers that test one number at a time (SEARCH,
 * message by message) normalise once per command, not once per message.
 */
const normalised = new WeakMap<SequenceSet, NormalisedSet & { max: number }>();

/** The set resolved against `max` ("*"), merged; cached per parsed set and `max`. */
export function normaliseSet(set: SequenceSet, max: number): NormalisedSet {
  const hit = normalised.get(set);
  if (hit !== undefined && hit.max === max) return hit;
  const n = Object.assign(new NormalisedSet(set, max), { max });
  normalised.set(set, n);
  return n;
}

/** Resolves "*" against `max`: the merged, ascending ranges. */
export function normalise(set: SequenceSet, max: number): ReadonlyArray<readonly [number, number]> {
  return normaliseSet(set, max).ranges;
}

/** True when n is in the set ("*" = max). */
export function inSet(set: SequenceSet, n: number, max: number): boolean {
  return normaliseSet(set, max).has(n);
}

/** Sequence numbers 1..count selected by the set (ascending, unique); at most `count` entries. */
export function seqNumbers(set: SequenceSet, count: number): number[] {
  if (count === 0) return [];
  const out: number[] = [];
  for (const [a, b] of normalise(set, count)) {
    for (let n = Math.max(1, a); n <= Math.min(b, count); n++) out.push(n);
  }
  return out;
}

/**
 * Indexes (0-based) of `uids` (ascending) selected by a UID set. "*" is the largest UID in use; a
 * range "N:*" always includes the last message even when N is above it (RFC 3501 section 6.4.8).
 * The merged ranges are disjoint and ascending, so each index is visited once and the result needs
 * no sort: at most `uids.length` entries, whatever the set's text repeats.
 */
export function uidIndexes(set: SequenceSet, uids: ArrayLike<number>): number[] {
  const n = uids.length;
  if (n === 0) return [];
  const maxUid = uids[n - 1];
  const lowerBound = (v: number, from: number): number => {
    let lo = from;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (uids[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // Binary search per range: a single-UID FETCH on a 10,000-message mailbox touches one entry.
  const out: number[] = [];
  let i = 0;
  for (const [a, b] of normalise(set, maxUid)) {
    for (i = lowerBound(a, i); i < n && uids[i] <= b; i++) out.push(i);
    if (i >= n) break;
  }
  return out;
}

/** Runs of consecutive ascending numbers, order kept: [1, 2, 3, 7, 9, 10] is [1,3], [7,7], [9,10]. */
export function toRanges(nums: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const n of nums) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] + 1 === n) last[1] = n;
    else out.push([n, n]);
  }
  return out;
}

/** Ranges as set text: 1:3,7,9:10 (VANISHED (EARLIER) keeps ranges too wide to expand). */
export function formatRanges(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}:${b}`)).join(',');
}

/** Compact text form of numbers: 1:3,7,9:10 (COPYUID, APPENDUID, ESEARCH ALL, VANISHED). */
export function formatSet(nums: readonly number[]): string {
  return formatRanges(toRanges(nums));
}
