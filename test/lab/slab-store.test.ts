// The lab's off-heap storage (core/lab/slab-store.ts) and what is built on it: a session's transcript
// (session-record.ts) and the replay window (history.ts) keep their lines encoded in pool blocks. What
// they give back is what was put in (property tests against a model of the bounds), blocks let go by
// an eviction are handed out again (the pool stops growing once the budget is reached), and a hostile
// line (long, control characters, lone surrogates) spans blocks and comes back whole.
import test from 'ava';
import fc from 'fast-check';
import { History } from '../../core/lab/history.js';
import { HEAD_LINES, LINE_INDEX_OCTETS, lineBytes, SessionRecord } from '../../core/lab/session-record.js';
import { BLOCK_SIZE, BlockLog, BLOCKS_PER_SLAB, encodeLine, scratch, SlabPool } from '../../core/lab/slab-store.js';
import { sseFrame } from '../../core/lab/sse.js';
import { decodeBatch, encodeBatch, encodeSummaryBody, type BatchItem } from '../../core/lab/wire-codec.js';
import { lineDir, type LineData, type LineKind } from '../../core/lab/wire.js';
import { summaryOf } from './lab-client.js';

const all = (): boolean => true;
const kinds: LineKind[] = ['command', 'reply', 'tls', 'notice', 'auth', 'open', 'close'];
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  // Long enough to span blocks, hostile characters included.
  fc
    .tuple(fc.constantFrom('\u0000', '\u001f', '"', '\\', 'é', '\ud800', '\udfff', '😀', 'x'), fc.integer({ min: 0, max: 3 * BLOCK_SIZE }))
    .map(([c, n]) => c.repeat(n)),
);
const line = fc.record(
  {
    t: fc.integer({ min: 0, max: 2 ** 45 }),
    kind: fc.constantFrom(...kinds),
    text,
    bytes: fc.nat(),
    payload: text,
    payloadBytes: fc.nat(),
    encrypted: fc.constant<true>(true),
    note: fc.string({ maxLength: 20 }),
    request: fc.record({ method: fc.constantFrom('GET', 'POST'), path: fc.string({ maxLength: 30 }), ms: fc.nat() }),
    handshake: fc.constant<true>(true),
  },
  { requiredKeys: ['t', 'kind', 'text'] },
);

/** A line as a viewer holds it after decoding: JSON of it, `dir` filled in from the kind. */
function plain(l: LineData): unknown {
  return JSON.parse(JSON.stringify({ ...l, dir: l.dir ?? lineDir(l) })) as unknown;
}

/** A line's body as the stores keep it (encodeLine's octets as text). */
function lineBody(l: LineData): string {
  return scratch().toString('utf8', 0, encodeLine(l));
}

test('a block log gives back what was appended, across blocks, and dropping hands whole blocks back to the pool', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 3 * BLOCK_SIZE }), { maxLength: 30 }), fc.nat({ max: 30 }), (chunks, keepFrom) => {
      const pool = new SlabPool();
      const log = new BlockLog(pool);
      const at = chunks.map((c) => log.append(c, 0, c.length));
      for (let i = 0; i < chunks.length; i++) {
        const back = new Uint8Array(chunks[i].length);
        log.copy(at[i], chunks[i].length, back, 0);
        if (Buffer.compare(Buffer.from(back), Buffer.from(chunks[i])) !== 0) return false;
      }
      const k = Math.min(keepFrom, chunks.length);
      if (k < chunks.length) log.dropTo(at[k]);
      else log.clear();
      // What is still needed is still there, and no more than a block of what is not.
      for (let i = k; i < chunks.length; i++) {
        const back = new Uint8Array(chunks[i].length);
        log.copy(at[i], chunks[i].length, back, 0);
        if (Buffer.compare(Buffer.from(back), Buffer.from(chunks[i])) !== 0) return false;
      }
      const live = log.end - (k < chunks.length ? at[k] : log.end);
      if (log.blockCount > Math.ceil(live / BLOCK_SIZE) + 1) return false;
      log.clear();
      return pool.blocksInUse === 0;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a transcript gives back its first lines, a skipped marker and its recent lines, as the bounds say (property)', (t) => {
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 260 }),
      fc.integer({ min: 1, max: 120 }),
      fc.array(fc.constantFrom('add', 'add', 'add', 'shrink', 'trim'), { minLength: 260, maxLength: 260 }),
      (lines, tailMax, ops) => {
        const pool = new SlabPool();
        const rec = new SessionRecord(summaryOf({ id: 'imap-1' }), tailMax, pool);
        // The model: the first HEAD_LINES lines, then the most recent ones, with the count dropped.
        const head: LineData[] = [];
        let tail: LineData[] = [];
        let skipped = 0;
        lines.forEach((g, i) => {
          const l: LineData = { seq: i + 1, session: 'imap-1', dir: lineDir({ kind: g.kind }), ...g };
          rec.add(l);
          if (head.length < HEAD_LINES) head.push(l);
          else {
            tail.push(l);
            if (tail.length > tailMax) {
              tail.shift();
              skipped++;
            }
          }
          if (ops[i] === 'shrink') {
            const drop = Math.ceil(tail.length / 2);
            rec.shrink();
            tail = tail.slice(drop);
            skipped += drop;
          } else if (ops[i] === 'trim') {
            rec.trimTo(0);
            skipped += Math.max(0, tail.length - 1);
            tail = tail.slice(-1);
          }
        });
        const got = rec.lines();
        const want: unknown[] = head.map(plain);
        if (skipped > 0) want.push('skipped');
        want.push(...tail.map(plain));
        const gotPlain = got.map((l) => (l.kind === 'skipped' ? 'skipped' : plain(l)));
        t.deepEqual(gotPlain, want);
        const marker = got.find((l) => l.kind === 'skipped');
        if (marker) t.is(marker.skipped, skipped);
        t.is(rec.skipped, skipped);
        for (const l of [...head, ...tail]) t.deepEqual(plain(rec.lineBySeq(l.seq)!), plain(l));
        t.is(rec.lineBySeq(lines.length + 5), undefined);
        t.deepEqual(
          rec.requestLines().map((l) => l.seq),
          [...head, ...tail].filter((l) => l.request).map((l) => l.seq),
        );
        t.is(rec.lastSeq, tail.at(-1)?.seq ?? head.at(-1)?.seq ?? 0);
        // It weighs what its lines did as objects, or their encoding when that is larger; its blocks go
        // back to the pool with it.
        const kept = [...head, ...tail].reduce((a, l) => a + Math.max(lineBytes(l), Buffer.byteLength(lineBody(l)) + LINE_INDEX_OCTETS), 0);
        t.is(rec.bytes, kept);
        rec.release();
        t.is(pool.blocksInUse, 0);
      },
    ),
    { numRuns: 60 },
  );
});

test('a hostile line (16 KiB of control characters and lone surrogates, with a payload) spans blocks and comes back whole', (t) => {
  const pool = new SlabPool();
  const rec = new SessionRecord(summaryOf({ id: 'smtp-9' }), 100, pool);
  const hostile = '\u0000\u0001"\\\ud800\udfff\u2028'.repeat((16 * 1024) / 8);
  const l: LineData = {
    seq: 7,
    session: 'smtp-9',
    t: 1,
    kind: 'command',
    dir: 'c',
    text: hostile,
    payload: hostile.split('').reverse().join(''),
    payloadBytes: 99,
  };
  rec.add(l);
  t.true(rec.blocks > 10, `${rec.blocks} blocks`);
  t.deepEqual(plain(rec.lines()[0]), plain(l));
  t.is(rec.lineBySeq(7)!.payload, l.payload);
  rec.release();
  t.is(pool.blocksInUse, 0);
});

test('a session churning through its recent lines reuses its blocks: the pool stops growing', (t) => {
  const pool = new SlabPool();
  const rec = new SessionRecord(summaryOf({ id: 'http-1' }), 1900, pool);
  const add = (i: number): void => {
    rec.add({
      seq: i,
      session: 'http-1',
      t: i,
      kind: i % 2 ? 'command' : 'reply',
      dir: i % 2 ? 'c' : 's',
      text: `GET /page/${i} HTTP/1.1 ${'x'.repeat(i % 300)}`,
    });
  };
  let i = 1;
  for (; i <= 5000; i++) add(i);
  const slabs = pool.octets;
  const blocks = rec.blocks;
  for (; i <= 50_000; i++) add(i);
  t.is(pool.octets, slabs, 'no slab added after the record was full');
  t.true(rec.blocks <= blocks + 1, `${rec.blocks} blocks, ${blocks} when first full`);
  t.is(rec.skipped, 50_000 - HEAD_LINES - 1900);
});

/** A window item and its model: what encodeBatch is given for it. */
type Added = { seq: number; model: BatchItem };

test('the replay window sends what was added, by count and octet bounds, as encodeBatch would, and reuses its blocks (property)', (t) => {
  const item = fc.oneof(
    line.map((g) => ({ type: 'line', data: { session: `s${g.t % 3}`, dir: lineDir({ kind: g.kind }), ...g } })),
    fc.record({ type: fc.constant('session'), data: fc.nat({ max: 2 }).map((n) => summaryOf({ id: `s${n}`, lines: n })) }),
    fc.record({ type: fc.constant('forget'), data: fc.nat({ max: 2 }).map((n) => ({ id: `s${n}` })) }),
    fc.record({ type: fc.constantFrom('notice', 'packet'), data: fc.jsonValue({ maxDepth: 2 }) }),
  );
  fc.assert(
    fc.property(
      fc.array(item, { maxLength: 120 }),
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 64 * 1024 }),
      fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }),
      (items, maxItems, maxOctets, shown) => {
        const pool = new SlabPool();
        const h = new History(maxItems, maxOctets, 'ep', pool);
        const kept: Added[] = [];
        let octets = 0;
        const cost: number[] = [];
        for (const g of items) {
          const it = h.add(g.type, g.data, all, 10);
          let model: BatchItem;
          if (g.type === 'line') {
            const l = g.data as LineData;
            model = { seq: it.seq, type: 'line', entry: lineBody(l), session: l.session, t: l.t };
          } else if (g.type === 'session') {
            const s = g.data as ReturnType<typeof summaryOf>;
            model = { seq: it.seq, type: 'session', entry: encodeSummaryBody(s), session: s.id };
          } else {
            model = { seq: it.seq, type: g.type, entry: `[${JSON.stringify(g.type)},${JSON.stringify(g.data)}]` };
            if (g.type === 'forget') model.session = (g.data as { id: string }).id;
          }
          kept.push({ seq: it.seq, model });
          const c = 10 + (g.type === 'session' ? 0 : Buffer.byteLength(model.entry));
          cost.push(c);
          octets += c;
          while (kept.length > maxItems || (octets > maxOctets && kept.length > 1)) {
            kept.shift();
            octets -= cost.shift()!;
          }
        }
        t.is(h.length, kept.length);
        t.is(h.octets, octets);
        t.is(h.firstSeq, kept[0]?.seq ?? h.seq + 1);
        for (let s = 1; s < h.firstSeq; s++) t.false(h.has(s));
        // Any subset of what is kept, as a stream that may see only those would get it.
        const chosen = kept.filter((_, i) => shown[i % shown.length]);
        const frame = h.frame(
          chosen.map((c) => c.seq),
          chosen.length,
          h.seq,
        );
        const want = sseFrame('batch', encodeBatch(chosen.map((c) => c.model)), h.id(h.seq));
        t.is(frame.toString('utf8'), want);
        t.true(Array.isArray(decodeBatch(JSON.parse(want.slice(want.indexOf('\ndata: ') + 7, -2)))));
        // The log holds the kept items' octets, and at most a block more.
        const stored = chosen.length === kept.length ? kept.reduce((a, c) => a + (c.model.type === 'session' ? 0 : Buffer.byteLength(c.model.entry)), 0) : -1;
        if (stored >= 0) t.true(pool.blocksInUse <= Math.ceil(stored / BLOCK_SIZE) + 1, `${pool.blocksInUse} blocks for ${stored} octets`);
      },
    ),
    { numRuns: 200 },
  );
});

test('a full replay window reuses the blocks of what it evicts: the pool stops growing, resume points move on', (t) => {
  const pool = new SlabPool();
  const h = new History(2000, 1 << 30, 'ep', pool);
  const visible = (): boolean => true;
  const add = (i: number): number =>
    h.add('line', { seq: 0, session: `s${i % 7}`, t: i, kind: 'reply', dir: 's', text: `* ${i} FETCH (FLAGS (\\Seen)) ${'y'.repeat(i % 500)}` }, visible, 40)
      .seq;
  for (let i = 0; i < 2000; i++) add(i);
  const slabs = pool.octets;
  t.true(slabs >= BLOCK_SIZE * BLOCKS_PER_SLAB);
  for (let i = 2000; i < 100_000; i++) add(i);
  t.true(pool.octets <= slabs + BLOCK_SIZE * BLOCKS_PER_SLAB, `${pool.octets} octets of slabs, ${slabs} when first full`);
  t.is(h.length, 2000);
  t.is(h.firstSeq, 98_001);
  // A stream resuming from an evicted number has a gap; the oldest kept item still decodes.
  t.false(h.has(98_000));
  const [[name, l]] = decodeBatch(JSON.parse(h.frame([98_001], 1, 98_001).toString().split('\ndata: ')[1]));
  t.is(name, 'line');
  t.like(l, { seq: 98_001, t: 98_000, session: 's0', text: `* 98000 FETCH (FLAGS (\\Seen)) ${'y'.repeat(98_000 % 500)}` });
});

test("items held for a flush stay past the window's bounds until let go, up to twice its octets", (t) => {
  const h = new History(100, 50_000, 'ep', new SlabPool());
  const add = (i: number): number => h.add('notice', { i }, all, 10).seq;
  for (let i = 0; i < 100; i++) add(i);
  h.hold(add(100));
  t.is(h.firstSeq, 2);
  for (let i = 101; i < 300; i++) add(i);
  t.is(h.firstSeq, 101, 'the items before the held one went, the held ones stay');
  t.is(h.length, 200, 'over the bound while held');
  for (let i = 300; i < 5000; i++) add(i);
  t.true(h.octets <= 100_000 && h.octets > 99_950, `${h.octets} octets held`);
  t.false(h.has(101), 'the oldest held items went past twice the octets');
  h.unhold();
  t.is(h.length, 100);
  t.is(h.firstSeq, 4901);
  t.deepEqual(JSON.parse(h.entry(4901)) as unknown, ['notice', { i: 4900 }]);
});
