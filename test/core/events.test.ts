import test from 'ava';
import { EventBus, type ProtocolEvent } from '../../core/events.js';

const cmd = (i: number) => ({ type: 'command' as const, service: 't', session: 's', text: `c${i}` });

test('publishing never waits for subscribers: delivery happens on a later tick', async (t) => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.subscribe((e) => seen.push((e as { text: string }).text));
  bus.publish(cmd(1));
  t.deepEqual(seen, [], 'not delivered synchronously');
  await new Promise((r) => setImmediate(r));
  t.deepEqual(seen, ['c1']);
});

test('a slow subscriber drops its oldest events past its queue bound, others get everything', async (t) => {
  const bus = new EventBus();
  const slow: string[] = [];
  const fast: string[] = [];
  const sub = bus.subscribe((e) => slow.push((e as { text: string }).text), { maxQueue: 3 });
  bus.subscribe((e) => fast.push((e as { text: string }).text));
  for (let i = 0; i < 10; i++) bus.publish(cmd(i));
  await new Promise((r) => setImmediate(r));
  t.deepEqual(slow, ['c7', 'c8', 'c9']);
  t.is(sub.dropped, 7);
  t.is(fast.length, 10);
});

test('type filters, unsubscribe, a throwing subscriber does not affect others', async (t) => {
  const errors: unknown[] = [];
  const bus = new EventBus(Date.now, (e) => errors.push(e));
  const only: ProtocolEvent[] = [];
  const all: ProtocolEvent[] = [];
  bus.subscribe(() => {
    throw new Error('bad subscriber');
  });
  bus.subscribe((e) => only.push(e), { types: ['notice'] });
  const sub = bus.subscribe((e) => all.push(e));
  t.true(bus.wants('notice'));
  bus.publish(cmd(1));
  bus.publish({ type: 'notice', service: 't', level: 'warn', message: 'hi' });
  await new Promise((r) => setImmediate(r));
  t.is(only.length, 1);
  t.is(all.length, 2);
  t.is(errors.length, 2);
  t.true(typeof all[0].time === 'number');
  sub.unsubscribe();
  bus.publish(cmd(2));
  await new Promise((r) => setImmediate(r));
  t.is(all.length, 2);
});

test('session ids are unique per process', (t) => {
  const bus = new EventBus();
  const ids = new Set(Array.from({ length: 100 }, () => bus.nextSessionId('smtp')));
  t.is(ids.size, 100);
});

test('active is true only while somebody wants the dialogue, not just notices', (t) => {
  const bus = new EventBus();
  const notices = bus.subscribe(() => {}, { types: ['notice', 'service.state'] });
  t.false(bus.active, 'a notices-only subscriber (the logger at info) does not make hot paths build events');
  t.true(bus.wants('notice'));
  t.false(bus.wants('reply'));
  const dash = bus.subscribe(() => {});
  t.true(bus.active);
  t.true(bus.wants('reply'));
  dash.unsubscribe();
  t.false(bus.active);
  notices.unsubscribe();
  t.false(bus.wants('notice'));
});

test('settled() resolves once every subscriber has been handed what was published, including what subscribers publish in turn', async (t) => {
  const bus = new EventBus();
  const seen: string[] = [];
  bus.subscribe((e) => {
    const text = (e as { text: string }).text;
    seen.push(text);
    if (text === 'c1') bus.publish(cmd(2));
  });
  bus.publish(cmd(1));
  t.deepEqual(seen, []);
  await bus.settled();
  t.deepEqual(seen, ['c1', 'c2']);
});

test('a recording budget thins commands and replies past its burst and its rate, and tells each session what it missed', async (t) => {
  let now = 1_000_000;
  const bus = new EventBus(() => now);
  const seen: ProtocolEvent[] = [];
  let noticed!: () => void;
  const twoNotices = new Promise<void>((r) => (noticed = r));
  bus.subscribe((e) => {
    seen.push(e);
    if (seen.filter((x) => x.type === 'notice').length === 2) noticed();
  });
  bus.setRecordingBudget(50, 5); // 50 a second on average, at most 5 at once
  const allowed = (type: 'command' | 'reply', session: string): boolean => bus.wants(type, session, 'smtp');
  const first = Array.from({ length: 12 }, (_, i) => allowed(i % 2 ? 'reply' : 'command', i < 8 ? 'a' : 'b'));
  t.deepEqual(first, [true, true, true, true, true, false, false, false, false, false, false, false]);
  t.true(bus.wants('session.open'), 'sessions are never thinned');
  t.true(bus.wants('notice'));
  t.deepEqual(bus.recording, { perSecond: 50, burst: 5, recorded: 5, thinned: 7, sessionsThinned: 0 });
  now += 20;
  t.true(allowed('command', 'a'), 'a fiftieth of a second later one more line fits');
  t.false(allowed('reply', 'a'), 'and only one');
  now += 1000;
  t.deepEqual(
    Array.from({ length: 7 }, () => allowed('command', 'c')),
    [true, true, true, true, true, false, false],
    'after a quiet second the burst is back, no more',
  );
  // The sessions hear of their thinned lines a tenth of a second after the first.
  await twoNotices;
  await bus.settled();
  const notices = seen.filter((e) => e.type === 'notice');
  t.deepEqual(notices.map((e) => [e.session, e.service, (e as { detail?: { thinned?: number } }).detail?.thinned]).slice(0, 2), [
    ['a', 'smtp', 4],
    ['b', 'smtp', 4],
  ]);
  t.regex(
    (notices[0] as { message: string }).message,
    /^4 lines not recorded here: the lab records at most 50 commands and replies a second across all sessions once a burst of 5 is spent/,
  );
  bus.setRecordingBudget(0);
  t.true(Array.from({ length: 100 }, () => allowed('reply', 'a')).every(Boolean), 'no budget: nothing thinned');
});

test('the budget tells a session what it missed even when the traffic stops', async (t) => {
  const bus = new EventBus();
  let told!: (e: ProtocolEvent) => void;
  const notice = new Promise<ProtocolEvent>((r) => (told = r));
  bus.subscribe((e) => {
    if (e.type === 'notice') told(e);
  });
  bus.setRecordingBudget(10, 1); // 10 a second, 1 at once
  t.true(bus.wants('command', 's1', 'pop3'));
  t.false(bus.wants('reply', 's1', 'pop3'));
  // The bus's timer does not hold a process open (a server has its listeners); this test holds it.
  const hold = setTimeout(() => {}, 5000);
  const e = await notice;
  clearTimeout(hold);
  t.is(e.session, 's1');
  t.regex((e as { message: string }).message, /^1 line not recorded here/);
});

test('a session budget: past a fifth of the line budget, new sessions are not recorded and nothing of them is wanted', (t) => {
  let now = 5_000;
  const bus = new EventBus(() => now);
  bus.subscribe(() => {});
  bus.setRecordingBudget(50, 50); // 10 new sessions a second, at most 10 at once
  const admitted = Array.from({ length: 14 }, (_, i) => bus.recordSession(`s-${i}`));
  t.deepEqual(admitted, [...Array.from({ length: 10 }, () => true), false, false, false, false]);
  t.is(bus.recording.sessionsThinned, 4);
  t.false(bus.wants('command', 's-12', 'smtp'), 'no line of a session not recorded is built');
  t.false(bus.wants('auth', 's-12', 'smtp'));
  t.true(bus.wants('command', 's-3', 'smtp'), 'a recorded session still gets lines within the budget');
  t.is(bus.recording.thinned, 0, 'a session not recorded is not counted again line by line');
  bus.endSession('s-12');
  t.true(bus.wants('auth', 's-12', 'smtp'), 'forgotten once it closed');
  now += 100;
  t.deepEqual([bus.recordSession('s-20'), bus.recordSession('s-21')], [true, false], 'a tenth of a second later, one more');
  bus.setRecordingBudget(0);
  t.true(bus.wants('command', 's-13', 'smtp'), 'no budget: every session recorded');
  t.true(Array.from({ length: 100 }, (_, i) => bus.recordSession(`n-${i}`)).every(Boolean));
});

test('the default budget records a class acting at once whole, holds a flood to its rate, and every recorded session keeps its lines', (t) => {
  let now = 9_000;
  const bus = new EventBus(() => now);
  bus.subscribe(() => {});
  bus.setRecordingBudget(1000, 5000); // the default: 1,000 lines and 200 new sessions a second, bursts of 5,000 and 1,000
  // Each connection of a flood: a request line and a status line.
  const open = (id: string): [boolean, number] => {
    const recorded = bus.recordSession(id);
    const lines = recorded ? [bus.wants('command', id, 'http'), bus.wants('reply', id, 'http')].filter(Boolean).length : 0;
    return [recorded, lines];
  };
  // A class of 30 reloading a page of 20 objects over 6 connections each, all at once.
  const room = Array.from({ length: 180 }, (_, i) => open(`room-${i}`));
  t.true(
    room.every(([r, n]) => r && n === 2),
    'all 180 sessions and their 360 lines recorded',
  );
  // A flood: 1,500 connections in the same instant.
  const burst = Array.from({ length: 1500 }, (_, i) => open(`burst-${i}`));
  t.is(burst.filter(([r]) => r).length, 1000 - 180, 'the rest of the 1,000-session burst');
  t.true(
    burst.every(([r, n]) => (r ? n === 2 : n === 0)),
    'each recorded session gets both of its lines, the others none',
  );
  // Then a steady flood of 10,000 connections a second for two seconds, one every tenth of a millisecond.
  let recorded = 0;
  let lines = 0;
  for (let i = 0; i < 20_000; i++) {
    if (i % 10 === 0) now += 1;
    const [r, n] = open(`flood-${i}`);
    if (r) recorded++;
    lines += n;
    if (r) t.is(n, 2, 'a recorded session of the flood keeps its lines');
  }
  t.true(recorded >= 399 && recorded <= 401, `${recorded} sessions recorded in 2 s: the steady rate`);
  t.is(lines, 2 * recorded);
  t.is(bus.recording.sessionsThinned, 1500 - 820 + 20_000 - recorded);
});
