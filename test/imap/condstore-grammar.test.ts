// Property tests for the grammar CONDSTORE and QRESYNC add (RFC 7162 section 7): mod-sequence
// values, SELECT parameters, FETCH and STORE modifiers, and the VANISHED fallback's range arithmetic.
// Any input either parses to what it says or is a BAD (ImapError), never another exception.
import test from 'ava';
import fc from 'fast-check';
import { parseCommand, type Token } from '../../services/imap/command-parser.js';
import {
  MAX_MODSEQ,
  MAX_QRESYNC_RANGES,
  missingUidRanges,
  parseFetchModifiers,
  parseModseq,
  parseSelectParams,
  parseStoreModifiers,
} from '../../services/imap/condstore.js';
import { ImapError } from '../../services/imap/imap-errors.js';
import { formatRanges, formatSet, parseSequenceSet } from '../../services/imap/sequence-set.js';

const atom = (v: string): Token => ({ t: 'atom', v });

/** Runs `f`; an ImapError BAD counts as a refusal, anything else thrown fails the property. */
function parsesOrBad<T>(f: () => T): T | 'BAD' {
  try {
    return f();
  } catch (err) {
    if (err instanceof ImapError && err.kind === 'BAD') return 'BAD';
    throw err;
  }
}

test('mod-sequence values: exactly 1..2^63-1 (0 where allowed) are accepted, as numbers that compare the same', (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: MAX_MODSEQ + 10n }), fc.boolean(), (n, allowZero) => {
      const r = parsesOrBad(() => parseModseq(atom(n.toString()), 'X', allowZero));
      const valid = n <= MAX_MODSEQ && (n > 0n || allowZero);
      if (!valid) return r === 'BAD';
      return r === (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 25 }), (s) => {
      const r = parsesOrBad(() => parseModseq(atom(s), 'X', true));
      return r === 'BAD' || (/^\d{1,19}$/.test(s) && BigInt(s) <= MAX_MODSEQ);
    }),
    { numRuns: 3000 },
  );
  t.is(
    parsesOrBad(() => parseModseq({ t: 'string', v: Buffer.from('5'), literal: false }, 'X', true)),
    'BAD',
  );
  t.is(
    parsesOrBad(() => parseModseq(undefined, 'X', true)),
    'BAD',
  );
});

/** Any token tree: atoms from the grammar's words and numbers, strings, nested lists. */
const tokenTree: fc.Arbitrary<Token> = fc.letrec<{ tok: Token }>((tie) => ({
  tok: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('CONDSTORE', 'QRESYNC', 'CHANGEDSINCE', 'VANISHED', 'UNCHANGEDSINCE', '0', '1', '1:*', '5,3:4', '9223372036854775807', '-1', 'x').map(atom),
    fc.nat({ max: 0xffffffff }).map((n) => atom(String(n))),
    fc.string({ maxLength: 8 }).map((s): Token => ({ t: 'string', v: Buffer.from(s), literal: false })),
    fc.array(tie('tok'), { maxLength: 5 }).map((v): Token => ({ t: 'list', v })),
  ),
})).tok;

test('SELECT parameters, FETCH and STORE modifiers: any token tree parses or is a BAD, nothing else is thrown', (t) => {
  fc.assert(
    fc.property(tokenTree, (tok) => {
      parsesOrBad(() => parseSelectParams(tok));
      parsesOrBad(() => parseFetchModifiers(tok));
      parsesOrBad(() => parseStoreModifiers(tok));
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

/** Ascending distinct numbers as a set text the way a client would send them. */
const ascending = (max: number, len: number): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.integer({ min: 1, max }), { minLength: 1, maxLength: len }).map((xs) => xs.sort((a, b) => a - b));

test('QRESYNC parameters round-trip through the command parser (known-uids and seq-match data as sent)', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.bigInt({ min: 1n, max: MAX_MODSEQ }),
      fc.option(ascending(100_000, 40)),
      fc.option(fc.integer({ min: 1, max: 30 }).chain((n) => fc.tuple(ascending(1000, n), ascending(100_000, n)))),
      (uv, modseq, known, match) => {
        const pairs = match ? match[0].slice(0, Math.min(match[0].length, match[1].length)) : undefined;
        const uidsOfPairs = match ? match[1].slice(0, pairs!.length) : undefined;
        const parts = [String(uv), modseq.toString()];
        if (known) parts.push(formatSet(known));
        if (pairs) parts.push(`(${formatSet(pairs)} ${formatSet(uidsOfPairs!)})`);
        const cmd = parseCommand(Buffer.from(`a SELECT INBOX (QRESYNC (${parts.join(' ')}))`));
        const p = parseSelectParams(cmd.args[1]);
        const q = p.qresync!;
        const want = modseq > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(modseq);
        if (q.uidValidity !== uv || q.modseq !== want || p.condstore) return false;
        if (known && JSON.stringify(q.knownUids) !== JSON.stringify(parseSequenceSet(formatSet(known)))) return false;
        if (!known && q.knownUids !== undefined) return false;
        if (pairs) return JSON.stringify(q.seqMatch) === JSON.stringify(pairs.map((s, i) => [s, uidsOfPairs![i]]));
        return q.seqMatch === undefined;
      },
    ),
    { numRuns: 2000 },
  );
  t.pass();
});

test('hostile QRESYNC sets: more than the range cap, "*", or seq-match sets too long are a BAD, decided without expanding them', (t) => {
  const many = Array.from({ length: MAX_QRESYNC_RANGES + 1 }, (_, i) => String(2 * i + 1)).join(',');
  const tooMany = parseCommand(Buffer.from(`a SELECT INBOX (QRESYNC (1 1 ${many}))`));
  t.is(
    parsesOrBad(() => parseSelectParams(tooMany.args[1])),
    'BAD',
  );
  const wide = parseCommand(Buffer.from('a SELECT INBOX (QRESYNC (1 1 1:4294967295 (1:4294967295 1:4294967295)))'));
  const started = process.hrtime.bigint();
  t.is(
    parsesOrBad(() => parseSelectParams(wide.args[1])),
    'BAD',
  );
  // A refusal, not a four-billion-entry loop: well under a second even on a busy machine.
  t.true(process.hrtime.bigint() - started < 1_000_000_000n);
  const star = parseCommand(Buffer.from('a SELECT INBOX (QRESYNC (1 1 (1:* 1:*)))'));
  t.is(
    parsesOrBad(() => parseSelectParams(star.args[1])),
    'BAD',
  );
});

test('missingUidRanges (VANISHED when the expunge history is too short) equals the one-by-one answer', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 40 })), { maxLength: 6 }),
      fc.uniqueArray(fc.integer({ min: 1, max: 220 }), { maxLength: 80 }),
      fc.integer({ min: 1, max: 230 }),
      (raw, presentRaw, uidNext) => {
        // Disjoint ascending ranges, as normalise() hands them over.
        const set = parseSequenceSet(raw.map(([a, n]) => `${a}:${a + n}`).join(',') || '1');
        const merged: Array<[number, number]> = [];
        for (const [a, b] of set!.map((r) => [r.from, r.to] as [number, number]).sort((x, y) => x[0] - y[0])) {
          const last = merged[merged.length - 1];
          if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
          else merged.push([a, b]);
        }
        const present = presentRaw.sort((a, b) => a - b);
        const have = new Set(present);
        const want: number[] = [];
        for (const [a, b] of merged) for (let u = a; u <= b && u < uidNext; u++) if (!have.has(u)) want.push(u);
        const got = missingUidRanges(merged, present, uidNext);
        return formatRanges(got) === formatSet(want);
      },
    ),
    { numRuns: 3000 },
  );
  t.pass();
});
