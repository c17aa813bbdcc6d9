// The packet codec: round trips, RFC 3396 long options, option overload, and hostile input.
import test from 'ava';
import fc from 'fast-check';
import { decodePacket, describePacket, encodePacket, type DhcpPacket } from '../../services/dhcp/packet.js';
import { MAGIC_COOKIE } from '../../services/dhcp/limits.js';

function base(options: Map<number, Uint8Array> = new Map([[53, Uint8Array.of(1)]])): DhcpPacket {
  const chaddr = new Uint8Array(16);
  chaddr.set([2, 0, 0, 0, 0, 9]);
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0x12345678,
    secs: 3,
    flags: 0x8000,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    options,
  };
}

const packetArb = fc
  .record({
    op: fc.integer({ min: 0, max: 255 }),
    htype: fc.integer({ min: 0, max: 255 }),
    hlen: fc.integer({ min: 0, max: 16 }),
    hops: fc.integer({ min: 0, max: 255 }),
    xid: fc.integer({ min: 0, max: 0xffffffff }),
    secs: fc.integer({ min: 0, max: 0xffff }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    ciaddr: fc.integer({ min: 0, max: 0xffffffff }),
    yiaddr: fc.integer({ min: 0, max: 0xffffffff }),
    siaddr: fc.integer({ min: 0, max: 0xffffffff }),
    giaddr: fc.integer({ min: 0, max: 0xffffffff }),
    chaddr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    sname: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    file: fc.uint8Array({ minLength: 128, maxLength: 128 }),
    // Any code but pad, end and overload; values up to 700 octets exercise RFC 3396 splitting.
    options: fc.uniqueArray(
      fc.tuple(
        fc.integer({ min: 1, max: 254 }).filter((c) => c !== 52),
        fc.uint8Array({ maxLength: 700 }),
      ),
      { selector: (o) => o[0], maxLength: 8 },
    ),
  })
  .map((r) => ({ ...r, options: new Map<number, Uint8Array>(r.options) }));

function plain(p: DhcpPacket): unknown {
  return { ...p, chaddr: [...p.chaddr], sname: [...p.sname], file: [...p.file], options: [...p.options].map(([k, v]) => [k, [...v]]) };
}

test('encode then decode gives the same packet (property)', (t) => {
  fc.assert(
    fc.property(packetArb, fc.integer({ min: 0, max: 600 }), (p, minLength) => {
      const buf = encodePacket(p, minLength);
      const r = decodePacket(buf);
      if (!r.ok) return false;
      t.deepEqual(plain(r.packet), plain(p));
      return buf.length >= Math.max(minLength, 241);
    }),
    { numRuns: 300 },
  );
});

test('random bytes never throw (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), (bytes) => {
      const r = decodePacket(bytes);
      if (r.ok) describePacket(r.packet);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('random bytes after a valid header and cookie never throw (property)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 236, maxLength: 236 }), (tail, header) => {
      const buf = Buffer.concat([header, Buffer.from([0x63, 0x82, 0x53, 0x63]), tail]);
      const r = decodePacket(buf);
      if (r.ok) describePacket(r.packet);
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('replies are padded to 300 octets; requests shorter than 300 are accepted', (t) => {
  const reply = encodePacket(base());
  t.is(reply.length, 300);
  const short = encodePacket(base(), 0);
  t.true(short.length < 300);
  const r = decodePacket(short);
  t.true(r.ok);
});

test('a long option is split into 255-octet pieces and joined again (RFC 3396)', (t) => {
  const value = Buffer.alloc(600, 7);
  const buf = encodePacket(
    base(
      new Map([
        [53, Uint8Array.of(1)],
        [77, value],
      ]),
    ),
  );
  // 53 (3 octets), then 77 as 255 + 255 + 90.
  t.is(buf[243], 77);
  t.is(buf[244], 255);
  t.is(buf[243 + 257], 77);
  const r = decodePacket(buf);
  t.true(r.ok);
  if (r.ok) t.deepEqual(Buffer.from(r.packet.options.get(77)!), value);
});

test('options in file and sname are read when option 52 says so, in the order options, file, sname', (t) => {
  const buf = Buffer.from(
    encodePacket(
      base(
        new Map([
          [53, Uint8Array.of(3)],
          [52, Uint8Array.of(3)],
        ]),
      ),
    ),
  );
  // file (offset 108): requested address 10.0.0.7 and the first half of a host name.
  buf.set([50, 4, 10, 0, 0, 7, 12, 2, 0x61, 0x62, 255], 108);
  // sname (offset 44): the rest of the host name.
  buf.set([12, 1, 0x63, 255], 44);
  const r = decodePacket(buf);
  t.true(r.ok);
  if (!r.ok) return;
  t.deepEqual([...r.packet.options.get(50)!], [10, 0, 0, 7]);
  t.is(Buffer.from(r.packet.options.get(12)!).toString(), 'abc');
  t.false(r.packet.options.has(52));
  t.deepEqual([...r.packet.file], new Array(128).fill(0));
});

test('hostile input is refused with a reason, never a throw', (t) => {
  const good = encodePacket(base());
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /truncated/],
    ['truncated header', good.subarray(0, 100), /truncated/],
    [
      'wrong cookie',
      (() => {
        const b = Buffer.from(good);
        b.writeUInt32BE(0xdeadbeef, 236);
        return b;
      })(),
      /magic cookie/,
    ],
    [
      'hlen 17',
      (() => {
        const b = Buffer.from(good);
        b[2] = 17;
        return b;
      })(),
      /hardware address length/,
    ],
    ['option past the end', Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 12, 40, 0x61])]), /runs past the end/],
    ['option without length', Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 12])]), /no length/],
    ['bad overload value', Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 1, 52, 1, 9, 255])]), /overload/],
    ['huge', Buffer.alloc(5000), /too long/],
  ];
  for (const [name, buf, re] of cases) {
    const r = decodePacket(buf);
    t.false(r.ok, name);
    if (!r.ok) t.regex(r.reason, re, name);
  }
  t.is(MAGIC_COOKIE, 0x63825363);
});

test('describePacket names every header field and option for the dashboard', (t) => {
  const p = base(
    new Map<number, Uint8Array>([
      [53, Uint8Array.of(1)],
      [55, Uint8Array.of(1, 3, 6, 15)],
      [61, Uint8Array.of(1, 2, 0, 0, 0, 0, 9)],
      [50, Uint8Array.of(10, 0, 0, 9)],
      [12, Buffer.from('pc-1')],
    ]),
  );
  const f = describePacket(p);
  t.like(f, {
    op: 'BOOTREQUEST',
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: '0x12345678',
    secs: 3,
    flags: 'broadcast',
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: '02:00:00:00:00:09',
  });
  t.deepEqual(f.options, {
    messageType: 'DHCPDISCOVER',
    parameterRequestList: ['subnetMask', 'router', 'dnsServers', 'domainName'],
    clientId: '01:02:00:00:00:00:09',
    requestedAddress: '10.0.0.9',
    hostName: 'pc-1',
  });
});
