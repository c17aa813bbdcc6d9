// The DNS codec: round trips for every record type and whole messages (decode of encode gives the
// input back), exact encodingLength, name compression, and hostile input: compression loops, forward
// pointers, long labels and names, bad counts, truncation, RDLENGTH lies, OPT misuse. Fuzzing: random
// and mutated octets never raise anything but DnsWireError, and the fast query scanner agrees with the
// full decoder on every input.
import test from 'ava';
import fc from 'fast-check';
import { bytesToIpv4, bytesToIpv6, ipv6ToBytes } from '../../services/dns/addresses.js';
import { encodeFlags, decodeFlags, type HeaderFlags } from '../../services/dns/header.js';
import { decodeMessage, encodeMessage, encodingLength, ednsOf, optRecord, type DnsMessage, type ResourceRecord } from '../../services/dns/message.js';
import { formatLabel, parseName, nameWireLength } from '../../services/dns/names.js';
import { scanQuery } from '../../services/dns/query-scan.js';
import { CLASS, RECORD_CODECS, TYPE, type RecordData } from '../../services/dns/records.js';
import { Reader, Writer } from '../../services/dns/wire.js';
import { DnsWireError } from '../../services/dns/wire-error.js';

// ---- arbitraries ----

const anyLabel = fc.uint8Array({ minLength: 1, maxLength: 63 }).map((b) => formatLabel(b, 0, b.length));
const plainLabel = fc.constantFrom('lab', 'test', 'mail', 'www', '_tcp', '_imap', 'labnet', 'a', 'Example', 'xn--bcher-kva');
/** Names of arbitrary octets (escapes included), at most 255 octets on the wire. */
const anyName = fc
  .array(anyLabel, { maxLength: 6 })
  .map((ls) => (ls.length ? ls.join('.') : '.'))
  .filter((n) => nameWireLength(n) <= 255);
/** Names from a few labels, so suffixes repeat and compression has work to do. */
const plainName = fc.array(plainLabel, { minLength: 0, maxLength: 5 }).map((ls) => (ls.length ? ls.join('.') : '.'));
const name = fc.oneof(anyName, plainName, plainName);

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const dataFor: Record<number, fc.Arbitrary<RecordData>> = {
  [TYPE.A]: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => bytesToIpv4(b)),
  [TYPE.AAAA]: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => bytesToIpv6(b)),
  [TYPE.NS]: name,
  [TYPE.CNAME]: name,
  [TYPE.PTR]: name,
  [TYPE.MX]: fc.record({ preference: u16, exchange: name }),
  [TYPE.SOA]: fc.record({ mname: name, rname: name, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 }),
  [TYPE.SRV]: fc.record({ priority: u16, weight: u16, port: u16, target: name }),
  [TYPE.TXT]: fc.array(fc.uint8Array({ maxLength: 255 }), { maxLength: 4 }),
  99: fc.uint8Array({ maxLength: 40 }),
};

const record: fc.Arbitrary<ResourceRecord> = fc
  .constantFrom(...Object.keys(dataFor).map(Number))
  .chain((type) => fc.record({ name, type: fc.constant(type), class: fc.constantFrom(CLASS.IN, CLASS.CH, 255), ttl: u32, data: dataFor[type] }));

const flags: fc.Arbitrary<HeaderFlags> = fc.record({
  qr: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  aa: fc.boolean(),
  tc: fc.boolean(),
  rd: fc.boolean(),
  ra: fc.boolean(),
  z: fc.boolean(),
  ad: fc.boolean(),
  cd: fc.boolean(),
  rcode: fc.integer({ min: 0, max: 15 }),
});

const opt = fc
  .record({
    udpSize: u16,
    extendedRcode: fc.integer({ min: 0, max: 255 }),
    version: fc.integer({ min: 0, max: 255 }),
    do: fc.boolean(),
    z: fc.integer({ min: 0, max: 0x7fff }),
    options: fc.array(fc.record({ code: u16, data: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 3 }),
  })
  .map(optRecord);

const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: u16,
  flags,
  questions: fc.array(fc.record({ name, type: u16.filter((t) => t !== TYPE.OPT), class: u16 }), { maxLength: 3 }),
  answers: fc.array(record, { maxLength: 5 }),
  authorities: fc.array(record, { maxLength: 3 }),
  additionals: fc.tuple(fc.array(record, { maxLength: 3 }), fc.option(opt)).map(([rs, o]) => (o ? [...rs, o] : rs)),
});

// ---- round trips ----

test('every record type: decode(encode(data)) gives the data back, encodingLength is exact uncompressed', (t) => {
  for (const [type, arb] of Object.entries(dataFor)) {
    const codec = RECORD_CODECS.get(Number(type));
    fc.assert(
      fc.property(arb, (data) => {
        if (!codec) return true;
        const w = new Writer(false, Buffer.alloc(65_535));
        codec.encode(w, data);
        const bytes = w.result();
        const back = codec.decode(new Reader(bytes), bytes.length);
        t.deepEqual(back, data);
        // Only a name repeated inside the data (SOA's mname and rname) can be compressed.
        return Number(type) === TYPE.SOA ? bytes.length <= codec.encodingLength(data) : bytes.length === codec.encodingLength(data);
      }),
      { numRuns: 200 },
    );
  }
});

test('whole messages round-trip and encodingLength equals the encoded size (compression included)', (t) => {
  fc.assert(
    fc.property(message, (m) => {
      let bytes: Buffer;
      try {
        bytes = encodeMessage(m);
      } catch (err) {
        // Only a message too big for 65,535 octets may be refused.
        return err instanceof DnsWireError && err.code === 'MESSAGE_TOO_LONG';
      }
      t.deepEqual(decodeMessage(bytes), m);
      return encodingLength(m) === bytes.length;
    }),
    { numRuns: 400 },
  );
});

test('names: presentation round trip, escapes, case kept, limits enforced', (t) => {
  fc.assert(
    fc.property(anyName, (n) => {
      const parsed = parseName(n);
      return (parsed.labels.length === 0 ? '.' : parsed.texts.join('.')) === n;
    }),
  );
  t.deepEqual(parseName('a\\.b.c').texts, ['a\\.b', 'c']);
  t.deepEqual([...parseName('\\000\\255').labels[0]], [0, 255]);
  t.deepEqual(parseName('Lab.TEST.').texts, ['Lab', 'TEST']);
  t.is(parseName('.').labels.length, 0);
  t.throws(() => parseName('a..b'), { code: 'EMPTY_LABEL' } as never);
  t.throws(() => parseName(`${'x'.repeat(64)}.test`), { code: 'LABEL_TOO_LONG' } as never);
  t.throws(() => parseName(Array(64).fill('abc').join('.')), { code: 'NAME_TOO_LONG' } as never);
  t.throws(() => parseName('caf\u00e9\u4e2d.test'), { code: 'BAD_VALUE' } as never);
  t.throws(() => parseName('a\\256.test'), { code: 'BAD_VALUE' } as never);
});

test('compression: repeated suffixes become pointers, exact case only', (t) => {
  const m: DnsMessage = {
    id: 1,
    flags: decodeFlags(0x8400),
    questions: [{ name: 'Mail.Lab.Test', type: TYPE.A, class: CLASS.IN }],
    answers: [{ name: 'Mail.Lab.Test', type: TYPE.MX, class: CLASS.IN, ttl: 60, data: { preference: 10, exchange: 'labnet.Lab.Test' } }],
    authorities: [{ name: 'lab.test', type: TYPE.NS, class: CLASS.IN, ttl: 60, data: 'labnet.lab.test' }],
    additionals: [],
  };
  const bytes = encodeMessage(m);
  t.deepEqual(decodeMessage(bytes), m);
  // The answer's owner is one pointer to the question's name (2 octets at offset 12+15+4).
  t.is(bytes.readUInt16BE(12 + 15 + 4), 0xc000 | 12);
  const uncompressed = 12 + 15 + 4 + (15 + 10 + 2 + 17) + (10 + 10 + 17);
  t.true(bytes.length < uncompressed, `${bytes.length} < ${uncompressed}`);
  // "lab.test" (lower case) cannot point at "Lab.Test": written in full once.
  t.true(bytes.includes(Buffer.from('\x03lab\x04test\x00', 'latin1')));
});

test('header: the field table decodes and encodes every flag word', (t) => {
  for (let w = 0; w < 0x10000; w += 7) t.is(encodeFlags(decodeFlags(w)), w);
  t.deepEqual(decodeFlags(0x8180), { qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, z: false, ad: false, cd: false, rcode: 0 });
});

test('IPv6 text is RFC 5952 canonical and round-trips', (t) => {
  t.is(bytesToIpv6(ipv6ToBytes('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
  t.is(bytesToIpv6(ipv6ToBytes('2001:db8:0:1:0:0:0:1')), '2001:db8:0:1::1');
  t.is(bytesToIpv6(ipv6ToBytes('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  t.is(bytesToIpv6(ipv6ToBytes('::')), '::');
  t.is(bytesToIpv6(ipv6ToBytes('::ffff:192.0.2.1')), '::ffff:c000:201');
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => Buffer.from(ipv6ToBytes(bytesToIpv6(b))).equals(Buffer.from(b))));
});

// ---- hostile input ----

/** A query header with the given counts, then `body`. */
function raw(body: number[], counts: [number, number, number, number] = [1, 0, 0, 0], flagWord = 0x0100): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(flagWord, 2);
  counts.forEach((c, i) => h.writeUInt16BE(c, 4 + i * 2));
  return Buffer.concat([h, Buffer.from(body)]);
}

const LAB = [3, 0x6c, 0x61, 0x62, 4, 0x74, 0x65, 0x73, 0x74, 0]; // lab.test
const A_IN = [0, 1, 0, 1];

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (!(err instanceof DnsWireError)) throw err;
    return err.code;
  }
}

const bothCodes = (buf: Buffer): [string | undefined, string | undefined] => [code(() => decodeMessage(buf, { query: true })), code(() => scanQuery(buf))];

test('compression loops and forward pointers are refused (pointer to itself, two pointers to each other, forward)', (t) => {
  t.deepEqual(bothCodes(raw([0xc0, 12, ...A_IN])), ['BAD_POINTER', 'BAD_POINTER']);
  // 12: label "a", then a pointer to 12 again.
  t.deepEqual(bothCodes(raw([1, 0x61, 0xc0, 12, ...A_IN])), ['BAD_POINTER', 'BAD_POINTER']);
  // 12 points to 14, 14 points to 12.
  t.deepEqual(bothCodes(raw([0xc0, 14, 0xc0, 12, ...A_IN])), ['BAD_POINTER', 'BAD_POINTER']);
  // A record whose owner points back to the question, whose data loops: the owner is fine, the NS target is not.
  const loopInRdata = raw([...LAB, ...A_IN, 0xc0, 12, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 38], [1, 1, 0, 0], 0x8400);
  t.is(
    code(() => decodeMessage(loopInRdata)),
    'BAD_POINTER',
  );
  // A long but legal chain of backward pointers is followed: 20 answers, each owner one label and a
  // pointer to the previous owner.
  const body: number[] = [...LAB, ...A_IN];
  for (let i = 0; i < 20; i++) {
    const previous = i === 0 ? 12 : 26 + 18 * (i - 1);
    body.push(1, 0x61 + i, 0xc0 | (previous >> 8), previous & 0xff, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, i);
  }
  const chained = decodeMessage(raw(body, [1, 20, 0, 0], 0x8400));
  t.is(chained.answers[19].name, `${'tsrqponmlkjihgfedcba'.split('').join('.')}.lab.test`);
});

test('labels, names and label types: too long, type 01/10, truncated inside a label or pointer', (t) => {
  t.deepEqual(bothCodes(raw([0x40, ...A_IN])), ['BAD_LABEL_TYPE', 'BAD_LABEL_TYPE']);
  t.deepEqual(bothCodes(raw([0x80, ...A_IN])), ['BAD_LABEL_TYPE', 'BAD_LABEL_TYPE']);
  t.deepEqual(bothCodes(raw([5, 0x61, 0x62])), ['TRUNCATED', 'TRUNCATED']);
  t.deepEqual(bothCodes(raw([0xc0])), ['TRUNCATED', 'TRUNCATED']);
  t.deepEqual(bothCodes(raw([3, 0x6c, 0x61, 0x62])), ['TRUNCATED', 'TRUNCATED']);
  const long: number[] = [];
  for (let i = 0; i < 5; i++) long.push(63, ...Array<number>(63).fill(0x61));
  t.deepEqual(bothCodes(raw([...long, 0, ...A_IN])), ['NAME_TOO_LONG', 'NAME_TOO_LONG']);
});

test('counts: QDCOUNT other than 1, counts beyond the data, too many records, trailing octets', (t) => {
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN], [0, 0, 0, 0])), ['BAD_QDCOUNT', 'BAD_QDCOUNT']);
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN, ...LAB, ...A_IN], [2, 0, 0, 0])), ['BAD_QDCOUNT', 'BAD_QDCOUNT']);
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN], [1, 5, 0, 0])), ['TRUNCATED', 'TRUNCATED']);
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN], [1, 0xffff, 0xffff, 0xffff])), ['TOO_MANY_RECORDS', 'TOO_MANY_RECORDS']);
  t.is(
    code(() => decodeMessage(raw([...LAB, ...A_IN], [0xffff, 0, 0, 0]))),
    'TRUNCATED',
  );
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN, 0, 0])), ['TRAILING_DATA', 'TRAILING_DATA']);
  t.deepEqual(bothCodes(raw([...LAB, 0, 1])), ['TRUNCATED', 'TRUNCATED']);
});

test('RDLENGTH lies and OPT misuse', (t) => {
  // An A record with RDLENGTH 3, then one with RDLENGTH past the end.
  const a3 = raw([...LAB, ...A_IN, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 1, 2, 3], [1, 1, 0, 0], 0x8400);
  t.is(
    code(() => decodeMessage(a3)),
    'BAD_RDLENGTH',
  );
  const past = raw([...LAB, ...A_IN, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 9, 1, 2, 3, 4], [1, 1, 0, 0], 0x8400);
  t.is(
    code(() => decodeMessage(past)),
    'TRUNCATED',
  );
  // An MX whose name ends before RDLENGTH does.
  const mx = raw([...LAB, ...A_IN, 0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 6, 0, 10, 0xc0, 12, 9, 9], [1, 1, 0, 0], 0x8400);
  t.is(
    code(() => decodeMessage(mx)),
    'BAD_RDLENGTH',
  );
  const optRr = (owner: number[], rdata: number[] = []): number[] => [...owner, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, rdata.length, ...rdata];
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN, ...optRr([0]), ...optRr([0])], [1, 0, 0, 2])), ['BAD_OPT', 'BAD_OPT']);
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN, ...optRr([0xc0, 12])], [1, 0, 0, 1])), ['BAD_OPT', 'BAD_OPT']);
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN, ...optRr([0])], [1, 1, 0, 0])), ['BAD_OPT', 'BAD_OPT']);
  // An option whose length runs past the OPT data.
  t.deepEqual(bothCodes(raw([...LAB, ...A_IN, ...optRr([0], [0, 10, 0, 8, 1, 2])], [1, 0, 0, 1])), ['BAD_RDLENGTH', 'BAD_RDLENGTH']);
  // A good OPT is read by both: udp size 1232, DO set.
  const good = raw([...LAB, ...A_IN, 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 4, 0, 12, 0, 0], [1, 0, 0, 1]);
  t.deepEqual(scanQuery(good).edns, { udpSize: 1232, version: 0, do: true });
  t.deepEqual(ednsOf(decodeMessage(good))?.options, [{ code: 12, data: new Uint8Array(0) }]);
});

// ---- fuzzing ----

/** Decoding arbitrary octets: a message or a DnsWireError, nothing else; and the scanner agrees. */
function checkAgreement(buf: Buffer): boolean {
  let full: DnsMessage | undefined;
  let fullErr: string | undefined;
  try {
    full = decodeMessage(buf, { query: true });
  } catch (err) {
    if (!(err instanceof DnsWireError)) throw err;
    fullErr = err.code;
  }
  let scanned: ReturnType<typeof scanQuery> | undefined;
  let scanErr: string | undefined;
  try {
    scanned = scanQuery(buf);
  } catch (err) {
    if (!(err instanceof DnsWireError)) throw err;
    scanErr = err.code;
  }
  if ((fullErr === undefined) !== (scanErr === undefined))
    throw new Error(`decoder ${fullErr ?? 'ok'} but scanner ${scanErr ?? 'ok'} for ${buf.toString('hex')}`);
  if (full && scanned) {
    const q = full.questions[0];
    const e = ednsOf(full);
    if (q.type !== scanned.qtype || q.class !== scanned.qclass) throw new Error('question differs');
    if ((e === undefined) !== (scanned.edns === undefined) || (e && (e.udpSize !== scanned.edns!.udpSize || e.do !== scanned.edns!.do)))
      throw new Error('EDNS differs');
  }
  return true;
}

test('fuzz: random octets decode or fail with DnsWireError, and the scanner agrees with the decoder', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 12, maxLength: 300 }), (b) => {
      const buf = Buffer.from(b);
      code(() => decodeMessage(buf));
      return checkAgreement(buf);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('fuzz: mutated and truncated real queries and responses', (t) => {
  const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), cut: fc.nat(), kind: fc.constantFrom('flip', 'cut', 'both') });
  fc.assert(
    fc.property(message, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, muts) => {
      let buf: Buffer;
      try {
        buf = encodeMessage(m);
      } catch {
        return true;
      }
      for (const mu of muts) {
        if (mu.kind !== 'cut' && buf.length > 0) buf[mu.at % buf.length] = mu.value;
        if (mu.kind !== 'flip') buf = buf.subarray(0, Math.max(12, buf.length - (mu.cut % 16)));
      }
      code(() => decodeMessage(buf));
      return buf.length < 12 || checkAgreement(buf);
    }),
    { numRuns: 1500 },
  );
  t.pass();
});
