// Which sessions the hub keeps (core/lab/hub.ts, evict): past lab.history.sessions, the oldest closed
// session goes first, and only when none is closed the oldest open one. Whatever the order sessions
// open and close in, the hub keeps exactly what that rule keeps (a model list), its byte count is the
// sum of its records', and every pool block in use is held by a record or by the replay window.
import 'reflect-metadata';
import test from 'ava';
import fc from 'fast-check';
import type { EventBus } from '../../core/events.js';
import type { LabHub } from '../../core/lab/hub.js';
import type { SessionRecord } from '../../core/lab/session-record.js';
import type { SlabPool } from '../../core/lab/slab-store.js';
import { bareHub } from './bare-hub.js';

const SESSIONS = 10;
const instructor = { role: 'instructor', user: 'teach', address: '127.0.0.1' } as const;

function makeHub(maxBytes: number): { hub: LabHub; events: EventBus } {
  return bareHub({ sessions: SESSIONS, linesPerSession: 200, replayEvents: 500, maxBytes, maxBytesPerSession: 1 << 20, dhcpPackets: 100 }, 10);
}

/** The hub's insides the invariants are about. */
interface Insides {
  sessions: Map<string, SessionRecord>;
  bytesKept: number;
  pool: SlabPool;
  history: { log: { blockCount: number } };
}

type Step = { op: 'open' } | { op: 'close'; pick: number } | { op: 'line'; pick: number; length: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Step>({ op: 'open' }) },
  { weight: 2, arbitrary: fc.nat().map<Step>((pick) => ({ op: 'close', pick })) },
  { weight: 3, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 12_000 })).map<Step>(([pick, length]) => ({ op: 'line', pick, length })) },
);

async function run(steps: Step[], maxBytes: number, check: (hub: LabHub, model: Array<{ id: string; open: boolean }>) => void): Promise<void> {
  const { hub, events } = makeHub(maxBytes);
  await hub.start();
  try {
    const model: Array<{ id: string; open: boolean }> = [];
    const live: string[] = [];
    let n = 0;
    const local = { address: '127.0.0.1', port: 143 };
    for (const s of steps) {
      if (s.op === 'open') {
        const id = events.nextSessionId('imap');
        n++;
        events.publish({ type: 'session.open', service: 'imap', session: id, peer: { address: '127.0.0.1', port: 40000 + n }, local, tls: false });
        live.push(id);
        model.push({ id, open: true });
        // The rule: past the bound, the oldest closed session, else the oldest open one.
        while (model.length > SESSIONS) {
          const closed = model.findIndex((m) => !m.open);
          model.splice(closed >= 0 ? closed : 0, 1);
        }
      } else if (live.length > 0) {
        const id = live[s.pick % live.length];
        if (s.op === 'close') {
          live.splice(live.indexOf(id), 1);
          events.publish({ type: 'session.close', service: 'imap', session: id, reason: 'client closed', bytesIn: 1, bytesOut: 2, durationMs: 5 });
          const m = model.find((x) => x.id === id);
          if (m) m.open = false;
        } else events.publish({ type: 'reply', service: 'imap', session: id, text: `* ${'x'.repeat(s.length)}` });
      }
      await events.settled();
      check(hub, model);
    }
  } finally {
    await hub.stop();
  }
}

function accounting(t: { is: (a: unknown, b: unknown, m?: string) => void }, hub: LabHub): void {
  const h = hub as unknown as Insides;
  let bytes = 0;
  let blocks = 0;
  for (const r of h.sessions.values()) {
    bytes += r.bytes;
    blocks += r.blocks;
  }
  t.is(h.bytesKept, bytes, 'bytesKept is the sum of the kept records');
  t.is(h.pool.blocksInUse, blocks + h.history.log.blockCount, 'every block in use is a record’s or the window’s');
}

test('past the session bound the oldest closed session goes, else the oldest open one; bytes and blocks add up (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 40, maxLength: 120 }), async (steps) => {
      await run(steps, 64 << 20, (hub, model) => {
        const kept = hub
          .listSessions(instructor)
          .map((s) => s.id)
          .reverse();
        t.deepEqual(
          kept,
          model.map((m) => m.id),
        );
        accounting(t, hub);
      });
    }),
    { numRuns: 60 },
  );
});

test('under a small byte budget the hub stays within it, and bytes and blocks add up (property)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 100, maxLength: 300 }), async (steps) => {
      // Far less than the lines sent: sessions go (closed ones first) and the biggest shrink.
      await run(steps, 150_000, (hub) => {
        const s = hub.getStats();
        t.true(s.bytesKept <= 150_000, `${s.bytesKept}`);
        t.true(s.sessions <= SESSIONS);
        accounting(t, hub);
      });
    }),
    { numRuns: 30 },
  );
});
