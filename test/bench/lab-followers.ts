// The followers of `make bench BENCH=lab`: N browsers' event streams (/lab/events, logged in as an
// instructor, so they follow everything), in one process of their own that lab.bench.ts starts at low
// CPU priority (they stand for browsers on other machines). Cheap but honest: every frame is cut out
// of the byte stream and every batch is decoded (decodeBatch, as the browser and `labnet watch` do),
// once: a batch whose octets are all equal to one another stream already decoded carries the same
// lines, and is not decoded again (20 browsers on 20 machines would each decode it on their own CPU;
// here the copies would only take the CPU labnet is measured on). Each stream counts its lines and
// checks their event numbers only go up (nothing doubled); loss shows as a gap marker (a hello with
// `gap`) or as fewer lines than the hub recorded, which the driver compares.
//
// Usage: node lab-followers.js PORT COOKIE N. Prints `ready` once all N are connected. Commands on stdin:
//   report           one JSON line: bytes and events read so far, lines, gaps, CPU, batches decoded
//   until FROM TO    waits (at most 60 s) until every stream has been given event TO, then one JSON
//                    line with each stream's lines numbered FROM+1..TO (the driver compares them with the
//                    hub's count), plus what `report` says
import { connect } from 'node:net';
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
  /**
   * The event numbers of the lines of each batch it got, in order, for the window the driver asks
   * about: the batch's own list (shared with the other streams that got the same octets), not a copy
   * line by line (appending every line to one long array per stream was most of this process's CPU).
   */
  batches: number[][];
}

const followers: Follower[] = [];
let open = 0;

/** The number after the epoch in an event id ("a1b2c3d4.1234"), from a frame's head. */
function idNumber(head: string): number | undefined {
  const i = head.indexOf('\nid: ');
  if (i < 0) return undefined;
  const dot = head.indexOf('.', i);
  const end = head.indexOf('\n', i + 1);
  return Number(head.slice(dot + 1, end));
}

/**
 * Batches already decoded, by event id: the line numbers each carried and the frame's octets. The
 * streams of this process follow everything, so most frames reach all of them byte for byte; a frame
 * equal (every octet compared) to one decoded before has the same lines, and is counted and checked
 * for each stream without decoding it again. One that differs is decoded on its own. Bounded.
 */
const decoded = new Map<string, { frame: Buffer; seqs: number[] }>();
const DECODED_MAX = 256;
let decodes = 0;

function batchLines(id: string, frame: Buffer, dataAt: number): number[] {
  const known = decoded.get(id);
  if (known && known.frame.equals(frame)) return known.seqs;
  decodes++;
  const seqs: number[] = [];
  for (const [name, item] of decodeBatch(JSON.parse(frame.toString('utf8', dataAt)))) if (name === 'line') seqs.push((item as { seq: number }).seq);
  decoded.set(id, { frame: Buffer.from(frame), seqs });
  if (decoded.size > DECODED_MAX) decoded.delete(decoded.keys().next().value!);
  return seqs;
}

const DATA = Buffer.from('\ndata: ');

function onFrame(f: Follower, frame: Buffer): void {
  if (frame[0] === 0x3a) return; // ':' a keep-alive comment
  f.events++;
  const d = frame.indexOf(DATA);
  if (d < 0) return;
  const head = frame.toString('utf8', 0, d + 1);
  const event = head.slice(7, head.indexOf('\n'));
  if (event === 'batch') {
    const id = head.slice(head.indexOf('\nid: ') + 5, -1);
    const seqs = batchLines(id, frame, d + DATA.length);
    for (const seq of seqs) {
      f.lines++;
      if (seq <= f.lastLine) f.disorder++;
      f.lastLine = seq;
    }
    f.batches.push(seqs);
    f.cursor = idNumber(head) ?? f.cursor;
    advanced?.();
  } else if (event === 'hello') {
    const h = JSON.parse(frame.toString('utf8', d + DATA.length)) as { seq: number; gap?: { from: number; to: number } };
    if (h.gap) {
      f.gaps++;
      f.gapEvents += h.gap.to - h.gap.from + 1;
    }
    f.cursor = h.seq;
    f.lastLine = Math.max(f.lastLine, h.seq);
    advanced?.();
  } else if (event === 'overview' || event === 'resume' || event === 'bye') JSON.parse(frame.toString('utf8', d + DATA.length));
}

const FRAME_END = Buffer.from('\n\n');

/** Frames out of a stream's body octets (after the response head), as they come. */
function reader(f: Follower): (chunk: Buffer) => void {
  let rest: Buffer | undefined;
  return (chunk) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = buf.indexOf(FRAME_END); end >= 0; end = buf.indexOf(FRAME_END, start)) {
      onFrame(f, buf.subarray(start, end));
      start = end + 2;
    }
    if (buf.length - start > 16 * 1024 * 1024) throw new Error('an event over 16 MiB');
    rest = start < buf.length ? buf.subarray(start) : undefined;
  };
}

const HEAD_END = Buffer.from('\r\n\r\n');

// A plain socket per stream rather than node:http: the lab's stream is a body that runs until the
// connection closes (no chunked coding), and the octets go straight to the framer, as a browser's would.
for (let i = 0; i < N; i++) {
  const f: Follower = { bytes: 0, events: 0, lines: 0, lastLine: 0, disorder: 0, cursor: 0, gaps: 0, gapEvents: 0, batches: [] };
  followers.push(f);
  const socket = connect(Number(port), '127.0.0.1');
  socket.write(`GET /lab/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\nAccept: text/event-stream\r\n\r\n`);
  let head: Buffer | undefined = Buffer.alloc(0);
  const body = reader(f);
  socket.on('data', (chunk: Buffer) => {
    f.bytes += chunk.length;
    if (head === undefined) return body(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(HEAD_END);
    if (end < 0) {
      if (head.length > 64 * 1024) throw new Error('a response head over 64 KiB');
      return;
    }
    const status = head.toString('latin1', 0, head.indexOf('\r\n'));
    if (!/^HTTP\/1\.1 200 /.test(status)) throw new Error(`the lab answered ${status}`);
    const after = head.subarray(end + HEAD_END.length);
    f.bytes -= end + HEAD_END.length;
    head = undefined;
    open++;
    if (open === N) process.stdout.write('ready\n');
    if (after.length > 0) body(after);
  });
  socket.on('error', (err) => {
    throw err;
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
    decodes,
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
      const inWindow = followers.map((f) => f.batches.reduce((n, b) => n + b.filter((s) => s > from && s <= to).length, 0));
      for (const f of followers) f.batches = f.batches.filter((b) => b.length > 0 && b[b.length - 1] > to);
      process.stdout.write(`${JSON.stringify({ ...report(), inWindow, behind: followers.filter((f) => f.cursor < to).length })}\n`);
    };
    check();
  }
});
rl.on('close', () => process.exit(0));
