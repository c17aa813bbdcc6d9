// The lab zone and the responder, in memory: what each question gets (RFC 1034 4.3.2 for an
// authoritative-only server, RFC 2308 negative answers, RFC 6891 EDNS, RFC 1035 truncation), the
// REFUSED boundary, DHCP names, the answer cache, and a property over random questions.
import test from 'ava';
import fc from 'fast-check';
import { parseSubnet } from '../../services/dns/addresses.js';
import { decodeFlags, RCODE } from '../../services/dns/header.js';
import { decodeMessage, ednsOf, encodeMessage, fullRcode, optRecord, type DnsMessage } from '../../services/dns/message.js';
import { CLASS, TYPE } from '../../services/dns/records.js';
import { Responder } from '../../services/dns/responder.js';
import { LabZone, type ZoneSettings } from '../../services/dns/zone.js';

const SRV = { '_submission._tcp': 587, '_submissions._tcp': 465, '_imap._tcp': 143, '_imaps._tcp': 993, '_pop3._tcp': 110, '_pop3s._tcp': undefined };

function settings(over: Partial<ZoneSettings> = {}): ZoneSettings {
  return {
    domain: 'lab.test',
    hostname: 'labnet.lab.test',
    ttl: 60,
    negativeTtl: 30,
    serial: 1000,
    hostAddresses: ['192.168.50.1', 'fd00::1'],
    allHostAddresses: ['192.168.50.1', 'fd00::1'],
    reverse: [parseSubnet('192.168.50.0/24')!],
    srvPorts: SRV,
    dhcpNames: [
      { label: 'alice-laptop', address: '192.168.50.101' },
      { label: 'mail', address: '192.168.50.102' },
    ],
    ...over,
  };
}

function responder(over: Partial<ZoneSettings> = {}, ednsUdpSize = 1232): Responder {
  const zone = new LabZone(settings(over));
  return new Responder(() => zone, { ednsUdpSize });
}

interface Ask {
  type?: number;
  cls?: number;
  id?: number;
  edns?: { udpSize?: number; version?: number; do?: boolean };
  rd?: boolean;
  opcode?: number;
  transport?: 'udp' | 'tcp';
}

function query(name: string, o: Ask = {}): Buffer {
  const m: DnsMessage = {
    id: o.id ?? 0x4242,
    flags: { ...decodeFlags(o.rd === false ? 0 : 0x0100), opcode: o.opcode ?? 0 },
    questions: [{ name, type: o.type ?? TYPE.A, class: o.cls ?? CLASS.IN }],
    answers: [],
    authorities: [],
    additionals: o.edns
      ? [optRecord({ udpSize: o.edns.udpSize ?? 1232, extendedRcode: 0, version: o.edns.version ?? 0, do: o.edns.do ?? false, z: 0, options: [] })]
      : [],
  };
  return encodeMessage(m);
}

function ask(r: Responder, name: string, o: Ask = {}): { m: DnsMessage; size: number; cached: boolean } {
  const out = r.respond(query(name, o), '*', o.transport ?? 'udp');
  if (!out.response) throw new Error(`no response (${out.dropped})`);
  return { m: decodeMessage(out.response), size: out.response.length, cached: out.cached };
}

const data = (m: DnsMessage): unknown[] => m.answers.map((a) => a.data);

test('host and service names: A and AAAA, authoritative, the question spelled as asked, RD copied, RA clear', (t) => {
  const r = responder();
  for (const n of ['labnet.lab.test', 'lab.test', 'mail.lab.test', 'www.lab.test', 'autoconfig.lab.test', 'autodiscover.lab.test']) {
    const { m } = ask(r, n);
    t.is(m.flags.rcode, RCODE.NOERROR, n);
    t.true(m.flags.aa && m.flags.qr && m.flags.rd && !m.flags.ra, n);
    t.deepEqual(data(m), ['192.168.50.1'], n);
    t.deepEqual(data(ask(r, n, { type: TYPE.AAAA }).m), ['fd00::1'], n);
  }
  const mixed = ask(r, 'LabNet.LAB.test').m;
  t.is(mixed.questions[0].name, 'LabNet.LAB.test');
  t.is(mixed.answers[0].name, 'LabNet.LAB.test');
  t.false(ask(r, 'labnet.lab.test', { rd: false }).m.flags.rd);
});

test('MX, SRV (RFC 6186, RFC 8314), NS and SOA at the apex, with the host addresses as additional records', (t) => {
  const r = responder();
  const mx = ask(r, 'lab.test', { type: TYPE.MX }).m;
  t.deepEqual(data(mx), [{ preference: 10, exchange: 'labnet.lab.test' }]);
  t.deepEqual(
    mx.additionals.map((a) => [a.name, a.data]),
    [
      ['labnet.lab.test', '192.168.50.1'],
      ['labnet.lab.test', 'fd00::1'],
    ],
  );
  t.deepEqual(data(ask(r, '_imaps._tcp.lab.test', { type: TYPE.SRV }).m), [{ priority: 0, weight: 1, port: 993, target: 'labnet.lab.test' }]);
  t.deepEqual(data(ask(r, '_submissions._tcp.lab.test', { type: TYPE.SRV }).m), [{ priority: 0, weight: 1, port: 465, target: 'labnet.lab.test' }]);
  // A service that does not run: target "." (RFC 2782: decidedly not available), no additional records.
  const off = ask(r, '_pop3s._tcp.lab.test', { type: TYPE.SRV }).m;
  t.deepEqual(data(off), [{ priority: 0, weight: 0, port: 0, target: '.' }]);
  t.is(off.additionals.length, 0);
  t.deepEqual(data(ask(r, 'lab.test', { type: TYPE.NS }).m), ['labnet.lab.test']);
  const soa = ask(r, 'lab.test', { type: TYPE.SOA }).m.answers[0].data as { mname: string; rname: string; serial: number; minimum: number };
  t.deepEqual([soa.mname, soa.rname, soa.serial, soa.minimum], ['labnet.lab.test', 'hostmaster.lab.test', 1000, 30]);
});

test('NXDOMAIN and NODATA (RFC 2308): the SOA in authority with the negative TTL; empty non-terminals exist (RFC 8020)', (t) => {
  const r = responder();
  const nx = ask(r, 'nothere.lab.test').m;
  t.is(nx.flags.rcode, RCODE.NXDOMAIN);
  t.true(nx.flags.aa);
  t.is(nx.answers.length, 0);
  t.deepEqual(
    nx.authorities.map((a) => [a.name, a.type, a.ttl]),
    [['lab.test', TYPE.SOA, 30]],
  );
  for (const [n, type] of [
    ['mail.lab.test', TYPE.MX],
    ['_tcp.lab.test', TYPE.A],
    ['lab.test', TYPE.TXT],
  ] as const) {
    const nodata = ask(r, n, { type }).m;
    t.is(nodata.flags.rcode, RCODE.NOERROR, n);
    t.is(nodata.answers.length, 0, n);
    t.is(nodata.authorities[0].type, TYPE.SOA, n);
  }
  t.is(ask(r, 'below.nothere.lab.test').m.flags.rcode, RCODE.NXDOMAIN);
  t.is(ask(r, 'x._imap._tcp.lab.test').m.flags.rcode, RCODE.NXDOMAIN);
});

test('REFUSED for everything outside the lab: other names, look-alike suffixes, other classes, zone transfers; never recursion', (t) => {
  const r = responder();
  for (const n of ['example.com', 'xlab.test', 'test', 'com', '.', '8.8.8.8.in-addr.arpa', '1.49.168.192.in-addr.arpa']) {
    const { m } = ask(r, n);
    t.is(m.flags.rcode, RCODE.REFUSED, n);
    t.false(m.flags.aa || m.flags.ra, n);
    t.is(m.answers.length + m.authorities.length, 0, n);
  }
  t.is(ask(r, 'labnet.lab.test', { cls: CLASS.CH }).m.flags.rcode, RCODE.REFUSED);
  t.is(ask(r, 'lab.test', { type: TYPE.AXFR }).m.flags.rcode, RCODE.REFUSED);
  t.is(ask(r, 'lab.test', { type: TYPE.IXFR }).m.flags.rcode, RCODE.REFUSED);
  // Class ANY is read as IN.
  t.is(ask(r, 'labnet.lab.test', { cls: CLASS.ANY }).m.answers.length, 1);
});

test('PTR: the host, DHCP clients; an unknown address of the lab subnet is NXDOMAIN; a /20 zone answers only inside', (t) => {
  const r = responder();
  t.deepEqual(data(ask(r, '1.50.168.192.in-addr.arpa', { type: TYPE.PTR }).m), ['labnet.lab.test']);
  t.deepEqual(data(ask(r, '101.50.168.192.in-addr.arpa', { type: TYPE.PTR }).m), ['alice-laptop.lab.test']);
  const unknown = ask(r, '7.50.168.192.in-addr.arpa', { type: TYPE.PTR }).m;
  t.is(unknown.flags.rcode, RCODE.NXDOMAIN);
  t.is(unknown.authorities[0].name, '50.168.192.in-addr.arpa');
  t.is(ask(r, '50.168.192.in-addr.arpa', { type: TYPE.SOA }).m.answers.length, 1);
  t.is(ask(r, '300.50.168.192.in-addr.arpa', { type: TYPE.PTR }).m.flags.rcode, RCODE.NXDOMAIN);
  // IPv6 host address, no IPv6 reverse zone configured: REFUSED.
  t.is(ask(r, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', { type: TYPE.PTR }).m.flags.rcode, RCODE.REFUSED);
  const wide = responder({
    reverse: [parseSubnet('10.1.16.0/20')!, parseSubnet('fd00::/64')!],
    hostAddresses: ['10.1.17.1', 'fd00::1'],
    allHostAddresses: ['10.1.17.1', 'fd00::1'],
    dhcpNames: [],
  });
  t.deepEqual(data(ask(wide, '1.17.1.10.in-addr.arpa', { type: TYPE.PTR }).m), ['labnet.lab.test']);
  t.is(ask(wide, '5.31.1.10.in-addr.arpa', { type: TYPE.PTR }).m.flags.rcode, RCODE.NXDOMAIN);
  t.is(ask(wide, '5.3.1.10.in-addr.arpa', { type: TYPE.PTR }).m.flags.rcode, RCODE.REFUSED);
  t.deepEqual(data(ask(wide, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', { type: TYPE.PTR }).m), ['labnet.lab.test']);
});

test('DHCP names: <label>.<domain> A; a client calling itself "mail" does not take the reserved name', (t) => {
  const zone = new LabZone(settings());
  const r = new Responder(() => zone);
  t.deepEqual(data(ask(r, 'alice-laptop.lab.test').m), ['192.168.50.101']);
  t.deepEqual(data(ask(r, 'mail.lab.test').m), ['192.168.50.1']);
  t.deepEqual(zone.clashes, ['mail']);
  t.is(ask(r, 'alice-laptop.lab.test', { type: TYPE.AAAA }).m.flags.rcode, RCODE.NOERROR);
});

test('EDNS: OPT echoed with our size and DO, BADVERS for version 1, FORMERR for OPT as a question', (t) => {
  const r = responder();
  const plain = ask(r, 'labnet.lab.test').m;
  t.is(ednsOf(plain), undefined);
  const e = ednsOf(ask(r, 'labnet.lab.test', { edns: { udpSize: 4096, do: true } }).m)!;
  t.deepEqual([e.udpSize, e.version, e.do, e.extendedRcode], [1232, 0, true, 0]);
  const bad = ask(r, 'labnet.lab.test', { edns: { version: 1 } }).m;
  t.is(fullRcode(bad), RCODE.BADVERS);
  t.is(bad.flags.rcode, 0);
  t.is(ednsOf(bad)!.version, 0);
  t.is(bad.answers.length, 0);
  const optq = r.respond(query('lab.test', { type: TYPE.OPT }), '*', 'udp');
  t.is(optq.rcode, RCODE.FORMERR);
  t.is(optq.error?.code, 'BAD_OPT');
});

test('opcodes other than QUERY get NOTIMP; responses and runts are dropped; malformed queries FORMERR with the ID', (t) => {
  const r = responder();
  for (const opcode of [1, 2, 4, 5]) {
    const out = r.respond(query('lab.test', { opcode }), '*', 'udp');
    t.is(out.rcode, RCODE.NOTIMP);
    const m = decodeMessage(out.response!);
    t.true(m.flags.qr);
    t.is(m.flags.opcode, opcode);
    t.is(m.id, 0x4242);
  }
  const resp = query('lab.test');
  resp[2] |= 0x80;
  t.is(r.respond(resp, '*', 'udp').dropped, 'response');
  t.is(r.respond(Buffer.from([1, 2, 3]), '*', 'udp').dropped, 'short');
  const loop = Buffer.from('beef01000001000000000000c00c00010001', 'hex');
  const out = r.respond(loop, '*', 'udp');
  t.is(out.rcode, RCODE.FORMERR);
  t.is(out.error?.code, 'BAD_POINTER');
  const m = decodeMessage(out.response!);
  t.is(m.id, 0xbeef);
  t.true(m.flags.qr && m.flags.rd);
});

test('truncation: TC and an empty answer when the answer does not fit; the additional section is dropped first without TC', (t) => {
  const many = Array.from({ length: 40 }, (_, i) => `192.168.50.${i + 1}`);
  const r = responder({ hostAddresses: many, allHostAddresses: many });
  const small = ask(r, 'labnet.lab.test');
  t.true(small.m.flags.tc);
  t.is(small.m.answers.length, 0);
  t.is(small.m.questions[0].name, 'labnet.lab.test');
  t.true(small.size <= 512);
  // EDNS 1232: 40 addresses fit.
  const big = ask(r, 'labnet.lab.test', { edns: { udpSize: 1232 } });
  t.false(big.m.flags.tc);
  t.is(big.m.answers.length, 40);
  // A buffer size below 512 is taken as 512 (RFC 6891 section 6.2.5).
  t.true(ask(r, 'labnet.lab.test', { edns: { udpSize: 100 } }).m.flags.tc);
  // Over TCP everything fits.
  t.is(ask(r, 'labnet.lab.test', { transport: 'tcp' }).m.answers.length, 40);
  // MX fits, its 40 additional addresses do not: sent without them, TC clear (RFC 2181 section 9).
  const mx = ask(r, 'lab.test', { type: TYPE.MX }).m;
  t.false(mx.flags.tc);
  t.is(mx.answers.length, 1);
  t.is(mx.additionals.length, 0);
  // More than our own EDNS size allows: 64 AAAA records (1,792 octets of data) truncate even with EDNS 4096.
  const v6 = Array.from({ length: 64 }, (_, i) => `fd00::${(i + 1).toString(16)}`);
  const r6 = responder({ hostAddresses: v6, allHostAddresses: v6 });
  const trunc = ask(r6, 'labnet.lab.test', { type: TYPE.AAAA, edns: { udpSize: 4096 } });
  t.true(trunc.m.flags.tc);
  t.truthy(ednsOf(trunc.m));
  t.is(ask(r6, 'labnet.lab.test', { type: TYPE.AAAA, transport: 'tcp' }).m.answers.length, 64);
});

test('the answer cache: a repeat is a copy with the new ID; another spelling is its own entry; invalidate empties it', (t) => {
  const r = responder();
  const a = r.respond(query('labnet.lab.test', { id: 1 }), '*', 'udp');
  const b = r.respond(query('labnet.lab.test', { id: 2 }), '*', 'udp');
  t.false(a.cached);
  t.true(b.cached);
  t.is(b.response!.readUInt16BE(0), 2);
  t.true(a.response!.subarray(2).equals(b.response!.subarray(2)));
  const c = ask(r, 'LABNET.lab.test');
  t.false(c.cached);
  t.is(c.m.answers[0].name, 'LABNET.lab.test');
  // EDNS and non-EDNS queries are different entries.
  t.false(r.respond(query('labnet.lab.test', { edns: {} }), '*', 'udp').cached);
  r.invalidate();
  t.is(r.cacheSize, 0);
});

test('property: any question gets a well-formed answer with its ID and question, RA clear, AA exactly when the name is ours', (t) => {
  const r = responder();
  const label = fc.constantFrom(
    'lab',
    'test',
    'labnet',
    'mail',
    'www',
    '_tcp',
    '_imap',
    'example',
    'com',
    '50',
    '168',
    '192',
    'in-addr',
    'arpa',
    'x',
    'Alice-Laptop',
  );
  const name = fc.array(label, { minLength: 1, maxLength: 6 }).map((l) => l.join('.'));
  const type = fc.constantFrom(TYPE.A, TYPE.AAAA, TYPE.MX, TYPE.SRV, TYPE.PTR, TYPE.SOA, TYPE.NS, TYPE.TXT, TYPE.ANY, TYPE.CNAME, 65, 99);
  fc.assert(
    fc.property(name, type, fc.integer({ min: 0, max: 0xffff }), fc.boolean(), (n, ty, id, edns) => {
      const out = r.respond(query(n, { type: ty, id, edns: edns ? {} : undefined }), '*', 'udp');
      const m = decodeMessage(out.response!);
      const ours = /(^|\.)lab\.test$/i.test(n) || /(^|\.)50\.168\.192\.in-addr\.arpa$/i.test(n);
      return (
        m.id === id &&
        m.flags.qr &&
        !m.flags.ra &&
        m.questions[0].name === n &&
        m.questions[0].type === ty &&
        m.flags.aa === ours &&
        (ours ? [RCODE.NOERROR, RCODE.NXDOMAIN].includes(m.flags.rcode as 0) : m.flags.rcode === RCODE.REFUSED) &&
        (ednsOf(m) !== undefined) === edns
      );
    }),
    { numRuns: 1500 },
  );
  t.pass();
});
