// Connection.wants answers a line past the recording budget without asking the bus (a comparison with
// EventBus.linesShutUntil and a count on the connection): that shortcut must be invisible. Two buses on
// one clock see the same calls, one through connections and one asked directly; their answers, their
// recording figures and the notices each session gets of its missed lines must be the same.
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { EventBus, type ProtocolEvent } from '../../core/events.js';
import { memoryConnection } from '../../core/line-session/memory-transport.js';

interface Step {
  session: number;
  type: 'command' | 'reply' | 'auth';
  dt: number;
  withTime: boolean;
  /** Lift and set the budget again first: every session is told what it missed so far, and counts anew. */
  retell: boolean;
}

const step = fc.record({
  session: fc.integer({ min: 0, max: 3 }),
  type: fc.constantFrom<Step['type']>('command', 'reply', 'reply', 'command', 'auth'),
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1500 })),
  withTime: fc.boolean(),
  retell: fc.integer({ min: 0, max: 15 }).map((n) => n === 0),
});

/** Lines each session was told it missed, over all its notices (a notice timer may split them). */
function missed(seen: ProtocolEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of seen) if (e.type === 'notice') out[e.session!] = (out[e.session!] ?? 0) + ((e as { detail?: { thinned?: number } }).detail?.thinned ?? 0);
  return out;
}

test('property: Connection.wants past the budget answers, counts and tells each session exactly as EventBus.wants does', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(step, { maxLength: 300, size: 'max' }),
      async (rate, burst, steps) => {
        let now = 5_000_000;
        const clock = (): number => now;
        const viaConn = new EventBus(clock);
        const direct = new EventBus(clock);
        const seenConn: ProtocolEvent[] = [];
        const seenDirect: ProtocolEvent[] = [];
        viaConn.subscribe((e) => seenConn.push(e));
        direct.subscribe((e) => seenDirect.push(e));
        viaConn.setRecordingBudget(rate, burst);
        direct.setRecordingBudget(rate, burst);
        const conns = [0, 1, 2, 3].map(() => memoryConnection({ events: viaConn, service: 'http', maxLineLength: 100 }).conn);
        const answers: [boolean, boolean][] = [];
        for (const s of steps) {
          now += s.dt;
          if (s.retell)
            for (const bus of [viaConn, direct]) {
              bus.setRecordingBudget(0);
              bus.setRecordingBudget(rate, burst);
            }
          const conn = conns[s.session];
          const at = s.withTime ? now : 0;
          answers.push([conn.wants(s.type, at), direct.wants(s.type, conn.id, 'http', at)]);
        }
        // Lifting the budget tells every session what it still has to hear.
        viaConn.setRecordingBudget(0);
        direct.setRecordingBudget(0);
        await viaConn.settled();
        await direct.settled();
        for (const c of conns) c.destroy('test over');
        // node:assert throws, so fast-check shrinks a failure and names the steps.
        assert.deepStrictEqual(
          answers.map(([a]) => a),
          answers.map(([, b]) => b),
        );
        assert.deepStrictEqual(viaConn.recording, direct.recording);
        assert.deepStrictEqual(missed(seenConn), missed(seenDirect));
        assert.strictEqual(
          Object.values(missed(seenConn)).reduce((a, b) => a + b, 0),
          viaConn.recording.thinned,
          'every thinned line is told to its session',
        );
      },
    ),
    { numRuns: 100 },
  );
  t.pass();
});
