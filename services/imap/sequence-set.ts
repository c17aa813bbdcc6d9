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

/** Resolves "*" against `max` and orders each range. */
export function normalise(set: SequenceSet, max: number): Array<[number, number]> {
  return set.map(({ from, to }) => {
    const a = from === 0 ? max : from;
    const b = to === 0 ? max : to;
    return a <= b ? [a, b] : [b, a];
  });
}

/** True when n is in the set ("*" = max). */
export function inSet(set: SequenceSet, n: number, max: number): boolean {
  for (const [a, b] of normalise(set, max)) if (n >= a && n <= b) return true;
  return false;
}

/** Sequence numbers 1..count selected by the set (ascending, unique). */
export function seqNumbers(set: SequenceSet, count: number): number[] {
  if (count === 0) return [];
  const marks = new Uint8Array(count + 1);
  for (const [a, b] of normalise(set, count)) {
    for (let n = Math.max(1, a); n <= Math.min(b, count); n++) marks[n] = 1;
  }
  const out: number[] = [];
  for (let n = 1; n <= count; n++) if (marks[n]) out.push(n);
  return out;
}

/**
 * Indexes (0-based) of `uids` (ascending) selected by a UID set. "*" is the largest UID in use; a
 * range "N:*" always includes the last message even when N is above it (RFC 3501 section 6.4.8).
 */
export function uidIndexes(set: SequenceSet, uids: ArrayLike<number>): number[] {
  const n = uids.length;
  if (n === 0) return [];
  const maxUid = uids[n - 1];
  const ranges = normalise(set, maxUid);
  const lowerBound = (v: number): number => {
    let lo = 0;
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
  for (const [a, b] of ranges) {
    for (let i = lowerBound(a); i < n && uids[i] <= b; i++) out.push(i);
  }
  if (ranges.length === 1) return out;
  out.sort((x, y) => x - y);
  return out.filter((v, i) => i === 0 || out[i - 1] !== v);
}

/** Compact text form of ascending numbers: 1:3,7,9:10 (COPYUID, APPENDUID). */
export function formatSet(nums: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < nums.length) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    parts.push(j === i ? String(nums[i]) : `${nums[i]}:${nums[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
