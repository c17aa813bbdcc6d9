// Property tests: hostile bytes never make the decoders, the frame index, the frame store or the
// capture-stream reader throw (or loop); the pcapng codec round-trips; a stream cut into any chunks
// reads the same as a whole file; the store stays within its limits whatever arrives.
import test from 'ava';
import fc from 'fast-check';
import { CaptureFormatError, CaptureStreamReader, readCaptureFile, type CapturedRecord } from '../../core/packet/capture-stream.js';
import { decodeFrame, LINKTYPE } from '../../core/packet/decode-frame.js';
import { indexFrame } from '../../core/packet/frame-index.js';
import { FrameStore } from '../../core/packet/frame-store.js';
import { decodeBlock, encodeBlock, encodePcapng, PcapngError, type PcapngBlock } from '../../core/packet/pcapng.js';
import { flowSummary, frameDetail, frameSummary, tcpLadder } from '../../core/packet/views.js';
import { craftedFrames } from './crafted-frames.js';

const RUNS = { numRuns: 400 };
const PORTS = new Map([[80, 'HTTP']]);

/** Frames that start real (a crafted frame) and then have bytes replaced or cut. */
const mutatedFrame = fc
  .tuple(
    fc.constantFrom(...craftedFrames().map((f) => f.data)),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([base, edits, cut]) => {
    const b = Buffer.from(base);
    for (const [at, v] of edits) b[at % b.length] = v;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

const anyFrame = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  mutatedFrame,
);

test('decodeFrame, indexFrame and the views never throw on random or mutated frames', (t) => {
  fc.assert(
    fc.property(anyFrame, fc.constantFrom(LINKTYPE.ETHERNET, LINKTYPE.RAW, 0, 113), fc.nat(70000), (data, linkType, extra) => {
      const d = decodeFrame(data, linkType, data.length + (extra % 3 === 0 ? extra : 0), { timeUs: 1_700_000_000_000_000 });
      t.true(Array.isArray(d.layers));
      // No "decoder error": every problem is one the decoders found and named.
      t.false(
        d.problems.some((p) => p.startsWith('decoder error')),
        d.problems.join('; '),
      );
      for (const l of d.layers) for (const f of l.fields) t.true(f.offset + f.length <= Math.max(data.length, d.originalLength) + 64);
      indexFrame(data, linkType);
    }),
    RUNS,
  );
});

test('the frame store takes any sequence of frames and stays within its limits', (t) => {
  fc.assert(
    fc.property(fc.array(anyFrame, { maxLength: 120 }), (frames) => {
      const store = new FrameStore({ maxFrames: 32, maxBytes: 4000, maxFramesPerFlow: 10, maxFlows: 6, pinnedPerFlow: 3 }, PORTS);
      let t0 = 1_700_000_000_000_000;
      for (const data of frames) {
        const r: CapturedRecord = { interfaceId: 0, linkType: 1, timeUs: (t0 += 1000), data, originalLength: data.length };
        const f = store.add(r);
        frameSummary(f, PORTS);
        frameDetail(f, PORTS);
      }
      t.true(store.size <= 32);
      t.true(store.bytes <= 4000 || store.size === 1);
      t.true(store.flowCount <= 6);
      for (const flow of store.flows()) {
        t.true(flow.kept.length <= 10);
        t.is(store.keptFrames(flow).length, flow.kept.length);
        flowSummary(flow);
        tcpLadder(flow, store.keptFrames(flow));
      }
    }),
    { numRuns: 150 },
  );
});

const option = fc.record({ code: fc.integer({ min: 1, max: 0xffff }), value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) });
const block: fc.Arbitrary<PcapngBlock> = fc.oneof(
  fc.record({
    type: fc.constant('idb' as const),
    linkType: fc.integer({ min: 0, max: 0xffff }),
    snapLength: fc.nat(),
    options: fc.array(option, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('epb' as const),
    interfaceId: fc.nat(),
    timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    originalLength: fc.nat(),
    data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    options: fc.array(option, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('dsb' as const),
    secretsType: fc.nat(),
    data: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    options: fc.array(option, { maxLength: 2 }),
  }),
  fc.record({
    type: fc.constant('isb' as const),
    interfaceId: fc.nat(),
    timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    options: fc.array(option, { maxLength: 3 }),
  }),
  // A simple packet block records only the original length: its data is that long (not cut short).
  fc
    .record({ type: fc.constant('spb' as const), data: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)) })
    .map((b) => ({ ...b, originalLength: b.data.length })),
);

test('pcapng: decode(encode(block)) gives the block back', (t) => {
  fc.assert(
    fc.property(block, (b) => {
      // opt_endofopt (code 0) ends the list: the generator never uses it.
      const bytes = encodeBlock(b);
      t.is(bytes.length % 4, 0);
      const r = decodeBlock(bytes, 0, true)!;
      t.is(r.length, bytes.length);
      t.deepEqual(r.block, b);
    }),
    RUNS,
  );
});

test('pcapng and pcap: random bytes give a format error or frames, never a crash or a hang', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, asPcapng) => {
      const prefix = asPcapng ? Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]) : Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]);
      const reader = new CaptureStreamReader(() => {});
      try {
        reader.push(Buffer.concat([prefix, Buffer.from(bytes)]));
      } catch (err) {
        t.true(err instanceof CaptureFormatError || err instanceof PcapngError, String(err));
      }
    }),
    RUNS,
  );
});

test('a capture stream cut into any chunks reads the same frames as the whole file', (t) => {
  const frames = craftedFrames().map((f, i) => ({ timeUs: 1_700_000_000_000_000 + i * 1000, data: f.data, originalLength: f.originalLength ?? f.data.length }));
  const file = encodePcapng(frames, { linkType: 1, snapLength: 65535, keyLog: ['CLIENT_RANDOM ' + 'ab'.repeat(32) + ' ' + 'cd'.repeat(48)] });
  const whole = readCaptureFile(file).map((r) => [r.timeUs, r.data.toString('hex'), r.originalLength]);
  t.is(whole.length, frames.length);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 200 }), (cuts) => {
      const got: unknown[] = [];
      const reader = new CaptureStreamReader((r) => got.push([r.timeUs, Buffer.from(r.data).toString('hex'), r.originalLength]));
      let at = 0;
      for (let i = 0; at < file.length; i++) {
        const n = cuts[i % cuts.length];
        reader.push(file.subarray(at, at + n));
        at += n;
      }
      t.deepEqual(got, whole);
    }),
    { numRuns: 100 },
  );
});

test('a block claiming more than the cap is refused before it is buffered', (t) => {
  const reader = new CaptureStreamReader(() => {});
  const shb = encodeBlock({ type: 'shb', littleEndian: true, major: 1, minor: 0, options: [] });
  const huge = Buffer.alloc(12);
  huge.writeUInt32LE(6, 0);
  huge.writeUInt32LE(64 << 20, 4);
  t.throws(() => reader.push(Buffer.concat([shb, huge])), { instanceOf: CaptureFormatError, message: /larger than/ });
});
