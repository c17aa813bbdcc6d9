// How the hub hands items to many streams: under a flood it coalesces them into a few large batches,
// and every stream still gets every line once, in order; streams that fall behind together catch up
// from the history (sharing what they are sent) without a gap, a loss or a double.
import test from 'ava';
import type { LabHub } from '../../core/lab/hub.js';
import { TOKENS } from '../../core/tokens.js';
import { LineClient } from '../support/line-client.js';
import { LabStreamClient, login } from './lab-client.js';
import { startLabFor } from './lab-fixture.js';

const USERS = [{ name: 'teach', password: 'teach-Secret-3' }];

function startLab(t: { teardown(fn: () => Promise<void> | void): void }, history: Record<string, unknown>) {
  return startLabFor(t, {
    users: USERS,
    instructors: ['teach'],
    lab: { history },
    services: { http: { port: 0, httpsPort: 0 }, smtp: { port: 0, submissionPort: 0, smtpsPort: 0 } },
  });
}

/**
 * `n` instructor streams opened and greeted, and an SMTP session past its greeting, with the bus
 * settled: what each test starts from.
 */
async function streamsAndSmtp(t: { teardown(fn: () => Promise<void> | void): void }, lab: Awaited<ReturnType<typeof startLab>>, n: number) {
  const http = lab.port('http');
  const hub = lab.get<LabHub>(TOKENS.Lab);
  const cookie = await login(http, 'teach', USERS[0].password);
  const streams: LabStreamClient[] = [];
  for (let i = 0; i < n; i++) {
    const s = new LabStreamClient(http, { cookie });
    streams.push(s);
    await s.open();
    t.teardown(() => s.close());
    await s.until(() => s.hello() !== undefined);
  }
  const c = await LineClient.connect(lab.port('smtp'));
  await c.line();
  await lab.events.settled();
  return { http, cookie, hub, streams, c };
}

/** Sends `n` commands pipelined 64 at a time and reads every reply line. */
async function pipelined(c: LineClient, n: number, text: (k: number) => string): Promise<number> {
  let answered = 0;
  for (let k = 0; k < n; k += 64) {
    const m = Math.min(64, n - k);
    for (let j = 0; j < m; j++) c.write(`${text(k + j)}\r\n`);
    for (let j = 0; j < m; j++) if ((await c.line())?.startsWith('250')) answered++;
  }
  return answered;
}

/** The event numbers of the lines a stream got, checked to go up one line after another. */
function lineSeqs(t: { true(v: boolean, m?: string): void }, s: LabStreamClient, after: number): number[] {
  const seqs = s
    .lines()
    .map((l) => l.seq)
    .filter((q) => q > after);
  for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) t.true(false, `line ${seqs[i]} after ${seqs[i - 1]}: out of order or doubled`);
  return seqs;
}

test('a flood goes out in a few large batches, every line once and in order; a resume mid-flood is exact; a lone line after it goes in a batch of its own', async (t) => {
  const lab = await startLab(t, { linesPerSecond: 0 });
  const {
    http,
    cookie,
    hub,
    streams: [s, leaving],
    c,
  } = await streamsAndSmtp(t, lab, 2);
  const before = hub.getStats();
  const batchesBefore = s.raw.split('event: batch\n').length;
  const N = 3000;
  t.is(await pipelined(c, N / 2, (k) => `NOOP flood ${k}`), N / 2);
  // One stream leaves in the middle of the flood and comes back with the id of the last batch it got.
  await leaving.until(() => leaving.lines().some((l) => l.seq > before.seq), 10_000, 'part of the flood');
  leaving.close();
  const back = new LabStreamClient(http, { cookie });
  back.lastId = leaving.lastId;
  t.is(await pipelined(c, N / 2, (k) => `NOOP flood ${N / 2 + k}`), N / 2);
  await back.open(true);
  t.teardown(() => back.close());
  await lab.events.settled();
  const after = hub.getStats();
  const recorded = after.lines - before.lines;
  t.true(recorded >= 2 * N, `${recorded} lines recorded`);
  const seen = (x: LabStreamClient): number => x.lines().filter((l) => l.seq > before.seq).length;
  await s.until(() => seen(s) >= recorded, 20_000, 'every line of the flood');
  await back.until(() => seen(leaving) + seen(back) >= recorded, 20_000, 'every line of the flood, across the two connections');
  t.is(lineSeqs(t, s, before.seq).length, recorded, 'every recorded line once');
  t.is(back.of('resume').length, 1, 'resumed, no new snapshot');
  const across = [...lineSeqs(t, leaving, before.seq), ...lineSeqs(t, back, before.seq)];
  t.deepEqual(across, lineSeqs(t, s, before.seq), 'the resumed stream got exactly what it missed, in order');
  const batches = s.raw.split('event: batch\n').length - batchesBefore;
  t.true(batches * 20 <= recorded, `${recorded} lines in ${batches} batches: coalesced`);
  // Quiet again: a lone command and its reply go out together, with nothing else.
  await lab.events.settled();
  const rawBefore = s.raw.length;
  c.write('NOOP alone\r\n');
  t.true((await c.line())?.startsWith('250'));
  const smtpSession = s.lines().find((l) => l.text === 'NOOP flood 0')!.session;
  await s.until(
    () => s.lines(smtpSession).at(-2)?.text === 'NOOP alone' && s.lines(smtpSession).at(-1)!.text.startsWith('250'),
    10_000,
    'the lone line and its reply',
  );
  const frames = s.raw
    .slice(rawBefore)
    .split('\n\n')
    .filter((f) => f.startsWith('event: batch'));
  t.true(frames.length >= 1 && frames.length <= 2, `${frames.length} batches for one command and its reply`);
  t.false(frames.join('').includes('flood'), 'no flood line in them');
  c.write('QUIT\r\n');
});

test('streams that fall behind together catch up from the history: no gap, every line once, in order', async (t) => {
  // A history that holds the whole flood, so catching up never needs a gap marker.
  const lab = await startLab(t, { linesPerSecond: 0, replayEvents: 1_000_000, maxBytes: 1024 << 20, maxBytesPerSession: 512 << 20 });
  const { hub, streams, c } = await streamsAndSmtp(t, lab, 3);
  const before = hub.getStats();
  for (const s of streams) s.pause();
  // Long lines fill the paused sockets; how much the kernel takes first varies: on until all three are behind.
  const long = 'x'.repeat(450);
  let sent = 0;
  let rounds = 0;
  while (sent < 200_000 && rounds < 4) {
    t.is(await pipelined(c, 640, (k) => `NOOP ${sent + k} ${long}`), 640, 'never held up by the stalled streams');
    sent += 640;
    await lab.events.settled();
    if (hub.getStats().streamsBehind === streams.length) rounds++;
  }
  t.is(rounds, 4, `all three fell behind (after ${sent} commands)`);
  for (const s of streams) s.resume();
  t.is(await pipelined(c, 1, () => 'NOOP the end'), 1);
  await lab.events.settled();
  const after = hub.getStats();
  const recorded = after.lines - before.lines;
  for (const s of streams) {
    await s.until(() => s.lines().some((l) => l.text === 'NOOP the end'), 60_000, 'caught up');
    t.is(s.of('hello').length, 1, 'no gap marker, no second snapshot');
    t.is(lineSeqs(t, s, before.seq).length, recorded, 'every recorded line once');
  }
  t.true(hub.getStats().caughtUp > 0, 'sent from the history');
  t.is(hub.getStats().gaps, 0);
  c.write('QUIT\r\n');
});
