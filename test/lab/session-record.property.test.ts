// The hub's in-place scan of an HTTP request line (core/lab/session-record.ts requestTargetEnd) finds
// the method and target exactly where /^([A-Z]+) (\S+)/ does, whatever the line: the status line's
// request (method, path) in the transcript depends on it.
import test from 'ava';
import fc from 'fast-check';
import { HEAD_LINES, SessionRecord, requestTargetEnd } from '../../core/lab/session-record.js';
import { SlabPool } from '../../core/lab/slab-store.js';
import type { SessionSummary } from '../../core/lab/wire.js';

const REQUEST = /^([A-Z]+) (\S+)/;

/** What the scan says, as the regular expression would give it: [method, target] or undefined. */
function scanned(text: string): [string, string] | undefined {
  const end = requestTargetEnd(text);
  if (end < 0) return undefined;
  const space = text.indexOf(' ');
  return [text.slice(0, space), text.slice(space + 1, end)];
}

function matched(text: string): [string, string] | undefined {
  const m = REQUEST.exec(text);
  return m ? [m[1], m[2]] : undefined;
}

// Request-line pieces, and every character \s knows as a separator, so the targets end on each of them.
const piece = fc.oneof(
  fc.constantFrom('GET', 'POST', 'get', 'M-SEARCH', ' ', '  ', '/', '/lab?x=1', 'HTTP/1.1', '', '\t', '\r', '\n', '\v', '\f'),
  fc.constantFrom('\u00a0', '\u1680', '\u2000', '\u200a', '\u200b', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u0085', '\u180e'),
  fc.string({ unit: 'grapheme-composite', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const line = fc.array(piece, { maxLength: 8 }).map((xs) => xs.join(''));

test('the request scan agrees with /^([A-Z]+) (\\S+)/ on any line', (t) => {
  fc.assert(
    fc.property(line, (text) => JSON.stringify(scanned(text)) === JSON.stringify(matched(text))),
    { numRuns: 20_000 },
  );
  t.deepEqual(scanned('GET /index.html HTTP/1.1'), ['GET', '/index.html']);
  t.is(requestTargetEnd('GET  /x'), -1);
});

// A session's kept lines (SessionRecord: the first HEAD_LINES, the most recent tailMax, a count of
// those dropped between) whatever the run of adds and shrinks: the rings grow by doubling from a plain
// array of numbers to a Float64Array, wrap around as the oldest go, and keep each line's flags.
test('a session record keeps the first lines, the most recent ones and the count between, through growth and wrap-around', (t) => {
  const op = fc.oneof(fc.record({ add: fc.integer({ min: 1, max: 60 }), request: fc.boolean() }), fc.constant({ shrink: true as const }));
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.array(op, { maxLength: 30 }), (tailMax, ops) => {
      const summary = {
        id: 'http-1',
        service: 'http',
        listener: 'http',
        peer: { address: '127.0.1.5', port: 40000 },
        local: { address: '127.0.0.1', port: 80 },
        tls: 'none' as const,
        handshake: false,
        openedAt: 1000,
        bytesIn: 0,
        bytesOut: 0,
        lines: 0,
        authFailures: 0,
      } as SessionSummary;
      const rec = new SessionRecord(summary, tailMax, new SlabPool());
      const head: number[] = [];
      let tail: number[] = [];
      let skipped = 0;
      const requests = new Set<number>();
      let seq = 0;
      for (const o of ops) {
        if ('shrink' in o) {
          const drop = Math.ceil(tail.length / 2);
          skipped += drop;
          tail = tail.slice(drop);
          rec.shrink();
          continue;
        }
        for (let i = 0; i < o.add; i++) {
          seq += 2;
          const request = o.request && i % 3 === 0 ? { method: 'GET', path: `/p${seq}`, ms: 1 } : undefined;
          if (request) requests.add(seq);
          rec.add({ seq, session: 'http-1', t: 1000 + seq * 1.5, kind: 'reply', dir: 's', text: `line ${seq} é`, ...(request ? { request } : {}) });
          if (head.length < HEAD_LINES) head.push(seq);
          else {
            tail.push(seq);
            if (tail.length > tailMax) {
              tail.shift();
              skipped++;
            }
          }
        }
      }
      const kept = [...head, ...tail];
      const lines = rec.lines();
      const real = lines.filter((l) => l.kind !== 'skipped');
      if (JSON.stringify(real.map((l) => [l.seq, l.t, l.text])) !== JSON.stringify(kept.map((s) => [s, 1000 + s * 1.5, `line ${s} é`]))) return false;
      if (rec.skipped !== skipped || lines.some((l) => l.kind === 'skipped') !== skipped > 0) return false;
      if (JSON.stringify(rec.requestLines().map((l) => l.seq)) !== JSON.stringify(kept.filter((s) => requests.has(s)))) return false;
      if (rec.lastSeq !== (kept.length > 0 ? kept[kept.length - 1] : 0)) return false;
      const keptSet = new Set(kept);
      for (let s = 2; s <= seq; s += 2) if (rec.lineBySeq(s)?.seq !== (keptSet.has(s) ? s : undefined)) return false;
      return rec.lineBySeq(seq + 1) === undefined;
    }),
    { numRuns: 500 },
  );
  t.pass();
});
