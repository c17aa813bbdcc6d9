// The followers of `make bench BENCH=lab`: N browsers' event streams (/lab/events, logged in as an
// instructor, so they follow everything), in one process of their own that lab.bench.ts starts at low
// CPU priority (they stand for browsers on other machines). Cheap but honest: every frame is cut out
// of the byte stream and every batch is decoded (decodeBatch, as the browser and `labnet watch` do);
// each stream counts its lines and checks their event numbers only go up (nothing doubled); loss shows
// as a gap marker (a hello with `gap`) or as fewer lines than the hub recorded, which the driver compares.
//
// Usage: node lab-followers.js PORT COOKIE N. Prints `ready` once all N are connected. Commands on stdin:
//   report           one JSON line: bytes and events read so far, lines, gaps, CPU
//   until FROM TO    waits (at most 60 s) until every stream has been given event TO, then one JSON
//                    line with each stream's lines numbered FROM+1..TO (the driver compares them with the
//                    hub's count), plus what `report` says
import http from 'node:http';
import { createInterface } from 'node:readline';
import { decodeBatch } from '../../core/lab/wire-codec.js';

const [port, cookie, count] = process.argv.slice(2);
const N = Number(count);

interface Follower {
  bytes: number;
  events: number;
  lines: number;
  /** The newest line event number seen (they only go up: a double or a reordering is counted). */
  lastLine: number;
  disorder: number;
  /** The event number of the last batch or hello (their SSE id's number). */
  cursor: number;
  gaps: number;
  gapEvents: number;
  /** Lines by event number, for the window the driver asks about (only numbers, bounded by the run). */
  seqs: number[];
}

const followers: Follower[] = [];
let open = 0;

/** The number after the epoch in an event id ("a1b2c3d4.1234"). */
function idNumber(frame: string): number | undefined {
  const i = frame.indexOf('\nid: ');
  if (i < 0) return undefined;
  const dot = frame.indexOf('.', i);
  const end = frame.indexOf('\n', i + 1);
  return Number(frame.slice(dot + 1, end));
}

function onFrame(f: Follower, frame: string): void {
  if (frame.startsWith(':')) return; // keep-alive comment
  f.events++;
  const nl = frame.indexOf('\n');
  const event = frame.slice(7, nl);
  const d = frame.indexOf('\ndata: ');
  const data = frame.slice(d + 7);
  if (event === 'batch') {
    for (const [name, item] of decodeBatch(JSON.parse(data))) {
      if (name !== 'line') continue;
      const seq = (item as { seq: number }).seq;
      f.lines++;
      if (seq <= f.lastLine) f.disorder++;
      f.lastLine = seq;
      f.seqs.push(seq);
    }
    f.cursor = idNumber(frame) ?? f.cursor;
    advanced?.();
  } else if (event === 'hello') {
    const h = JSON.parse(data) as { seq: number; gap?: { from: number; to: number } };
    if (h.gap) {
      f.gaps++;
      f.gapEvents += h.gap.to - h.gap.from + 1;
    }
    f.cursor = h.seq;
    f.lastLine = Math.max(f.lastLine, h.seq);
    advanced?.();
  } else if (event === 'overview' || event === 'resume' || event === 'bye') JSON.parse(data);
}

for (let i = 0; i < N; i++) {
  const f: Follower = { bytes: 0, events: 0, lines: 0, lastLine: 0, disorder: 0, cursor: 0, gaps: 0, gapEvents: 0, seqs: [] };
  followers.push(f);
  http.get({ host: '127.0.0.1', port: Number(port), path: '/lab/events', headers: { Cookie: cookie, Accept: 'text/event-stream' }, agent: false }, (res) => {
    open++;
    if (open === N) process.stdout.write('ready\n');
    let rest = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      f.bytes += Buffer.byteLength(chunk);
      let text = rest + chunk;
      let start = 0;
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', start)) {
        onFrame(f, text.slice(start, end));
        start = end + 2;
      }
      text = text.slice(start);
      if (text.length > 16 * 1024 * 1024) throw new Error('an event over 16 MiB');
      rest = text;
    });
  });
}

function report(): Record<string, number> {
  const cpu = process.cpuUsage();
  const sum = (k: keyof Follower): number => followers.reduce((a, f) => a + (f[k] as number), 0);
  return {
    bytes: sum('bytes'),
    events: sum('events'),
    lines: sum('lines'),
    gaps: sum('gaps'),
    gapEvents: sum('gapEvents'),
    disorder: sum('disorder'),
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/** Called after a stream's cursor moved, while an `until` waits. */
let advanced: (() => void) | undefined;

const rl = createInterface({ input: process.stdin });
rl.on('line', (cmd) => {
  const [verb, a, b] = cmd.split(' ');
  if (verb === 'report') process.stdout.write(`${JSON.stringify(report())}\n`);
  else if (verb === 'until') {
    const from = Number(a);
    const to = Number(b);
    // Answered when every stream's cursor has reached `to` (checked as cursors move), or after 60 s.
    let timer: NodeJS.Timeout | undefined;
    const check = (timedOut = false): void => {
      if (!timedOut && followers.some((f) => f.cursor < to)) {
        advanced = () => check();
        timer ??= setTimeout(() => check(true), 60_000);
        return;
      }
      advanced = undefined;
      clearTimeout(timer);
      const inWindow = followers.map((f) => f.seqs.filter((s) => s > from && s <= to).length);
      for (const f of followers) f.seqs = f.seqs.filter((s) => s > to);
      process.stdout.write(`${JSON.stringify({ ...report(), inWindow, behind: followers.filter((f) => f.cursor < to).length })}\n`);
    };
    check();
  }
});
rl.on('close', () => process.exit(0));
