// The TCP analysis behind the ladder against tshark's: relative sequence and acknowledgement numbers,
// the scaled window, and the marks (retransmission, out of order, previous segment not captured,
// duplicate ACK, zero window, keep-alive) for crafted connections where each of them happens; the
// phases (three-way handshake, data, four-way close, reset) and the explanations in the ladder; the bytes
// a connection never had captured (gaps nothing filled), and the notes an export of it carries.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/index.js';
import { readCaptureFile } from '../../core/packet/capture-stream.js';
import { FrameStore } from '../../core/packet/frame-store.js';
import type { PacketCapture } from '../../core/packet/packet-capture.js';
import { describeSegment } from '../../core/packet/tcp-conversation.js';
import { flowSummary, tcpLadder } from '../../core/packet/views.js';
import { ethernet, ipv4, pad4, tcp, tcpOpt, writeCapture, MAC_A, MAC_B, type CraftedFrame } from './craft.js';
import { TOKENS } from '../../core/tokens.js';
import { runTool } from '../tls/run-tool.js';
import { tsharkColumns } from './tshark.js';

const C = '10.66.0.2';
const S = '10.66.0.1';

interface Seg {
  from: 'c' | 's';
  seq: number;
  ack?: number;
  flags: string;
  len?: number;
  win?: number;
  options?: Buffer;
  /** Microseconds after the previous segment. */
  dt?: number;
}

function build(segs: Seg[], sport: number, dport: number, t0: number): CraftedFrame[] {
  let t = t0;
  return segs.map((g) => {
    t += g.dt ?? 1000;
    const c = g.from === 'c';
    const seg = tcp(Buffer.alloc(g.len ?? 0, 0x61), {
      src: c ? C : S,
      dst: c ? S : C,
      sport: c ? sport : dport,
      dport: c ? dport : sport,
      seq: g.seq,
      ack: g.ack,
      flags: g.flags,
      window: g.win ?? 1000,
      options: g.options,
    });
    return {
      data: ethernet(ipv4(seg, { protocol: 6, src: c ? C : S, dst: c ? S : C, df: true }), { src: c ? MAC_A : MAC_B, dst: c ? MAC_B : MAC_A }),
      timeUs: t,
    };
  });
}

const ISN_C = 4294967000; // wraps past 2^32 during the data
const ISN_S = 70000;

/** A clean connection with window scaling and the four-way close. */
const clean: Seg[] = [
  { from: 'c', seq: ISN_C, flags: 'S', win: 64240, options: pad4([tcpOpt.mss(1460), tcpOpt.nop(), tcpOpt.wscale(7)]) },
  { from: 's', seq: ISN_S, ack: ISN_C + 1, flags: 'SA', win: 65160, options: pad4([tcpOpt.mss(1460), tcpOpt.nop(), tcpOpt.wscale(8)]) },
  { from: 'c', seq: ISN_C + 1, ack: ISN_S + 1, flags: 'A', win: 502 },
  { from: 'c', seq: ISN_C + 1, ack: ISN_S + 1, flags: 'PA', len: 400, win: 502 },
  { from: 's', seq: ISN_S + 1, ack: ISN_C + 401, flags: 'A', win: 254 },
  { from: 's', seq: ISN_S + 1, ack: ISN_C + 401, flags: 'PA', len: 200, win: 254 },
  { from: 'c', seq: ISN_C + 401, ack: ISN_S + 201, flags: 'A', win: 501 },
  { from: 'c', seq: ISN_C + 401, ack: ISN_S + 201, flags: 'FA', win: 501 },
  { from: 's', seq: ISN_S + 201, ack: ISN_C + 402, flags: 'A', win: 254 },
  { from: 's', seq: ISN_S + 201, ack: ISN_C + 402, flags: 'FA', win: 254 },
  { from: 'c', seq: ISN_C + 402, ack: ISN_S + 202, flags: 'A', win: 501 },
];

/** Loss, duplicate ACKs, a retransmission, reordering, a zero window, a keep-alive, a reset. */
const lossy: Seg[] = [
  { from: 'c', seq: 1000, flags: 'S', win: 8192 },
  { from: 's', seq: 9000, ack: 1001, flags: 'SA', win: 8192 },
  { from: 'c', seq: 1001, ack: 9001, flags: 'A', win: 8192 },
  { from: 'c', seq: 1001, ack: 9001, flags: 'PA', len: 100 },
  // 1101-1200 is lost on the way: not in the capture.
  { from: 'c', seq: 1201, ack: 9001, flags: 'PA', len: 100 },
  { from: 's', seq: 9001, ack: 1101, flags: 'A', win: 8192 },
  { from: 's', seq: 9001, ack: 1101, flags: 'A', win: 8192 },
  { from: 's', seq: 9001, ack: 1101, flags: 'A', win: 8192 },
  { from: 'c', seq: 1101, ack: 9001, flags: 'PA', len: 100, dt: 300_000 },
  { from: 's', seq: 9001, ack: 1301, flags: 'A', win: 8192 },
  { from: 'c', seq: 1301, ack: 9001, flags: 'PA', len: 100 },
  { from: 'c', seq: 1501, ack: 9001, flags: 'PA', len: 100 },
  { from: 'c', seq: 1401, ack: 9001, flags: 'PA', len: 100, dt: 200 },
  { from: 's', seq: 9001, ack: 1601, flags: 'A', win: 0 },
  { from: 'c', seq: 1600, ack: 9001, flags: 'A', len: 0, dt: 500_000 },
  { from: 'c', seq: 1601, ack: 9001, flags: 'R', dt: 1000 },
];

const MARK_FIELDS = [
  'tcp.analysis.retransmission',
  'tcp.analysis.fast_retransmission',
  'tcp.analysis.spurious_retransmission',
  'tcp.analysis.out_of_order',
  'tcp.analysis.lost_segment',
  'tcp.analysis.duplicate_ack',
  'tcp.analysis.zero_window',
  'tcp.analysis.keep_alive',
];

test('relative numbers, scaled windows and marks agree with tshark on crafted connections', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-tcp-'));
  try {
    const frames = [...build(clean, 51000, 80, 1_700_000_000_000_000), ...build(lossy, 51001, 25, 1_700_000_100_000_000)];
    const file = join(dir, 'tcp.pcapng');
    writeCapture(file, frames);
    const store = new FrameStore(
      { maxFrames: 1000, maxBytes: 1 << 24, maxFramesPerFlow: 1000, maxFlows: 100, pinnedPerFlow: 8 },
      new Map([
        [80, 'http'],
        [25, 'smtp'],
      ]),
    );
    const stored = readCaptureFile(readFileSync(file)).map((r) => store.get(store.add(r).id)!);
    const rows = await tsharkColumns(file, ['tcp.seq', 'tcp.ack', 'tcp.window_size', ...MARK_FIELDS], ['-o', 'tcp.relative_sequence_numbers:TRUE']);
    t.is(rows.length, stored.length);
    const problems: string[] = [];
    stored.forEach((f, i) => {
      const a = describeSegment(f.segment!);
      const [seq, ack, win, ...marks] = rows[i];
      const theirs = new Set<string>();
      if (marks[0] || marks[1] || marks[2]) theirs.add('retransmission');
      if (marks[3]) theirs.add('out-of-order');
      if (marks[4]) theirs.add('previous-segment-not-captured');
      if (marks[5]) theirs.add('duplicate-ack');
      if (marks[6]) theirs.add('zero-window');
      if (marks[7]) theirs.add('keep-alive');
      const ours = new Set<string>(a.marks);
      const label = `#${i + 1} ${a.label}`;
      if (Number(seq) !== a.relSeq) problems.push(`${label}: relative seq ours ${a.relSeq}, tshark ${seq}`);
      if (a.flags.includes('ACK') && Number(ack) !== a.relAck) problems.push(`${label}: relative ack ours ${a.relAck}, tshark ${ack}`);
      if (Number(win) !== a.windowBytes) problems.push(`${label}: window ours ${a.windowBytes}, tshark ${win}`);
      if ([...ours].sort().join() !== [...theirs].sort().join()) problems.push(`${label}: marks ours [${[...ours].join()}], tshark [${[...theirs].join()}]`);
    });
    t.deepEqual(problems, []);
    // Every mark was exercised.
    const all = new Set(stored.flatMap((f) => f.segment!.marks));
    for (const m of ['retransmission', 'out-of-order', 'previous-segment-not-captured', 'duplicate-ack', 'zero-window', 'keep-alive'])
      t.true(all.has(m as never), m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the ladder: handshake, data, four-way close, with the phases, states and explanations', (t) => {
  const store = new FrameStore({ maxFrames: 1000, maxBytes: 1 << 24, maxFramesPerFlow: 1000, maxFlows: 100, pinnedPerFlow: 8 }, new Map([[80, 'http']]));
  for (const f of build(clean, 52000, 80, 1_700_000_000_000_000))
    store.add({ interfaceId: 0, linkType: 1, timeUs: f.timeUs!, data: f.data, originalLength: f.data.length });
  const flow = [...store.flows()][0];
  t.is(flow.client.port, 52000);
  t.is(flow.server.port, 80);
  t.is(flow.service, 'http');
  const ladder = tcpLadder(flow, store.keptFrames(flow))!;
  t.is(ladder.state, 'closed');
  t.true(ladder.windowScaling);
  t.deepEqual(
    ladder.steps.map((s) => `${s.from} ${s.phase} ${s.label}`),
    [
      'client handshake SYN seq=0 win=64240',
      'server handshake SYN, ACK seq=0 ack=1 win=65160',
      'client handshake ACK seq=1 ack=1 win=64256',
      'client data PSH, ACK seq=1 ack=1 len=400 win=64256',
      'server data ACK seq=1 ack=401 win=65024',
      'server data PSH, ACK seq=1 ack=401 len=200 win=65024',
      'client data ACK seq=401 ack=201 win=64128',
      'client close FIN, ACK seq=401 ack=201 win=64128',
      'server close ACK seq=201 ack=402 win=65024',
      'server close FIN, ACK seq=201 ack=402 win=65024',
      'client close ACK seq=402 ack=202 win=64128',
    ],
  );
  t.regex(ladder.steps[0].explanation, /Handshake step 1/);
  t.regex(ladder.steps[2].explanation, /connection is open/);
  t.regex(ladder.steps[7].explanation, /closes its direction/);
  t.regex(ladder.steps[10].explanation, /both directions are closed/);
  t.is(ladder.handshakeRttMs, 2);
  t.is(ladder.steps[3].seq, (ISN_C + 1) % 2 ** 32, 'the absolute number is kept beside the relative one');
});

test('a reset ends the ladder in the reset state', (t) => {
  const store = new FrameStore({ maxFrames: 1000, maxBytes: 1 << 24, maxFramesPerFlow: 1000, maxFlows: 100, pinnedPerFlow: 8 }, new Map([[25, 'smtp']]));
  for (const f of build(lossy, 52001, 25, 1_700_000_000_000_000))
    store.add({ interfaceId: 0, linkType: 1, timeUs: f.timeUs!, data: f.data, originalLength: f.data.length });
  const only = store.flows()[0];
  const ladder = tcpLadder(only, store.keptFrames(only))!;
  t.is(ladder.state, 'reset');
  t.is(ladder.steps.at(-1)!.phase, 'reset');
  t.is(ladder.counts.retransmissions, 1);
  t.is(ladder.counts.outOfOrder, 1);
  t.is(ladder.counts.duplicateAcks, 2);
});

test('bytes never captured: a gap stays counted until a late or retransmitted segment fills it, even one spanning several gaps', (t) => {
  const limits = { maxFrames: 1000, maxBytes: 1 << 24, maxFramesPerFlow: 1000, maxFlows: 100, pinnedPerFlow: 8 };
  const flowOf = (segs: Seg[], port: number) => {
    const store = new FrameStore(limits, new Map([[443, 'http']]));
    for (const f of build(segs, port, 443, 1_700_000_000_000_000))
      store.add({ interfaceId: 0, linkType: 1, timeUs: f.timeUs!, data: f.data, originalLength: f.data.length });
    return flowSummary(store.flows()[0]);
  };
  const open: Seg[] = [
    { from: 'c', seq: 1000, flags: 'S' },
    { from: 's', seq: 9000, ack: 1001, flags: 'SA' },
    { from: 'c', seq: 1001, ack: 9001, flags: 'A' },
  ];
  // The lossy connection: its gap is filled by the retransmission, its reordering by the late segment.
  t.deepEqual(flowOf(lossy, 53000).notCaptured, { client: 0, server: 0 });
  // 1065-1129 (the TLS Finished, say) never captured: the request after it cannot be followed.
  const lost: Seg[] = [
    ...open,
    { from: 'c', seq: 1001, ack: 9001, flags: 'PA', len: 64 },
    { from: 'c', seq: 1129, ack: 9001, flags: 'PA', len: 110 },
    { from: 's', seq: 9001, ack: 1239, flags: 'A' },
    { from: 's', seq: 9001, ack: 1239, flags: 'PA', len: 200 },
    { from: 's', seq: 9401, ack: 1239, flags: 'PA', len: 50 },
  ];
  t.deepEqual(flowOf(lost, 53001).notCaptured, { client: 64, server: 200 });
  // Two client gaps, then one retransmission from before the first to the end of the second.
  const collapsed: Seg[] = [
    ...open,
    { from: 'c', seq: 1001, ack: 9001, flags: 'PA', len: 10 },
    { from: 'c', seq: 1021, ack: 9001, flags: 'PA', len: 10 },
    { from: 'c', seq: 1041, ack: 9001, flags: 'PA', len: 10 },
    { from: 'c', seq: 1005, ack: 9001, flags: 'PA', len: 36, dt: 300_000 },
  ];
  t.deepEqual(flowOf(collapsed, 53002).notCaptured, { client: 0, server: 0 });
  // A retransmission that also carries new bytes fills the gap it overlaps.
  const overlapping: Seg[] = [...open, { from: 'c', seq: 1001, ack: 9001, flags: 'PA', len: 10 }, { from: 'c', seq: 1021, ack: 9001, flags: 'PA', len: 10 }];
  t.deepEqual(flowOf(overlapping, 53003).notCaptured, { client: 10, server: 0 });
  t.deepEqual(flowOf([...overlapping, { from: 'c', seq: 1011, ack: 9001, flags: 'PA', len: 30, dt: 300_000 }], 53004).notCaptured, { client: 0, server: 0 });
});

test('an exported connection with bytes the capture never saw, or segments out of order, says so in the file (capinfos reads it)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-tcp-notes-'));
  const lab = await startLabnet({ defaults: false, logLevel: 'silent', config: { listen: '127.0.0.1', dataDir: dir, services: { http: { port: 0 } } } });
  try {
    const capture = lab.get<PacketCapture>(TOKENS.Capture);
    const open: Seg[] = [
      { from: 'c', seq: 1000, flags: 'S' },
      { from: 's', seq: 9000, ack: 1001, flags: 'SA' },
      { from: 'c', seq: 1001, ack: 9001, flags: 'A' },
    ];
    const lost: Seg[] = [...open, { from: 'c', seq: 1001, ack: 9001, flags: 'PA', len: 64 }, { from: 'c', seq: 1129, ack: 9001, flags: 'PA', len: 110 }];
    const reordered: Seg[] = [
      ...open,
      { from: 'c', seq: 1065, ack: 9001, flags: 'PA', len: 110 },
      { from: 'c', seq: 1001, ack: 9001, flags: 'PA', len: 64, dt: 200 },
    ];
    const feed = (segs: Seg[], port: number, t0: number): void => {
      for (const f of build(segs, port, 443, t0))
        capture.ingest({ interfaceId: 0, linkType: 1, timeUs: f.timeUs!, data: f.data, originalLength: f.data.length });
    };
    feed(open, 54000, 1_700_000_000_000_000);
    feed(lost, 54001, 1_700_000_001_000_000);
    feed(reordered, 54002, 1_700_000_002_000_000);
    const byPort = (port: number) => capture.flows().find((f) => f.client.port === port)!;
    t.deepEqual(byPort(54001).notCaptured, { client: 64, server: 0 });
    t.deepEqual(byPort(54002).notCaptured, { client: 0, server: 0 });
    const notesOf = async (flow: string): Promise<string[]> => {
      const file = join(dir, `${flow}.pcapng`);
      writeFileSync(file, capture.pcapng({ flows: [flow] }));
      const r = await runTool('capinfos', ['-k', file]);
      t.is(r.code, 0, r.stderr);
      return r.stdout
        .split('\n')
        .filter((l) => l.startsWith('Capture comment'))
        .map((l) => l.replace(/^Capture comment:\s*/, ''));
    };
    t.deepEqual(await notesOf(byPort(54000).id), [], 'a whole connection has no notes');
    t.deepEqual(await notesOf(byPort(54001).id), [
      `flow ${byPort(54001).id}: 64 bytes from the client not captured (frames the capture lost or left out); the stream cannot be followed, or TLS decrypted, past the gap`,
    ]);
    const reorderedNotes = await notesOf(byPort(54002).id);
    t.is(reorderedNotes.length, 1, reorderedNotes.join('\n'));
    t.regex(reorderedNotes[0], /1 segment\(s\) reached the capture out of order; .*tcp\.reassemble_out_of_order/);
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
