// The lab DNS in the real `labnet start` process, asked by dig (Debian bind9-dnsutils): every record
// type, UDP and TCP, truncation and the TCP retry, EDNS buffer sizes, BADVERS, REFUSED for other zones
// with recursion requested, FORMERR and silence for malformed datagrams, TCP limits, the port offset.
import test from 'ava';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { startLabProcess, type LabProcess } from '../support/lab-process.js';
import { freePort } from '../support/bench-util.js';
import { dig } from './dig.js';

const HOST = { hostAddresses: ['192.0.2.10', '2001:db8::10'], reverseSubnets: ['192.0.2.0/24'] };
const MANY = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);

let lab: LabProcess;
let big: LabProcess;
let port: number;

test.before(async () => {
  lab = await startLabProcess({
    only: ['dns', 'smtp', 'imap', 'pop3'],
    config: { services: { dns: { ...HOST, rateLimitPerSecond: 0, tcpIdleTimeoutMs: 400, tcpMaxConnectionsPerAddress: 3 }, pop3: { pop3s: false } } },
  });
  port = lab.port('dns');
  big = await startLabProcess({ only: ['dns'], config: { services: { dns: { hostAddresses: MANY, rateLimitPerSecond: 0 } } } });
});

test.after.always(async () => {
  for (const l of [lab, big]) {
    if (!l) continue;
    await l.stop();
    l.cleanup();
  }
});

const q = (...args: string[]) => dig('127.0.0.1', port, args);

test('A and AAAA for the host and its service names, authoritative, RA clear', async (t) => {
  for (const name of ['labnet.lab.test', 'lab.test', 'mail.lab.test', 'www.lab.test', 'autoconfig.lab.test', 'autodiscover.lab.test']) {
    const a = await q(name, 'A', '+norec');
    t.is(a.status, 'NOERROR', name);
    t.deepEqual(a.flags, ['qr', 'aa'], name);
    t.deepEqual(
      a.answer.map((r) => [r.name, r.ttl, r.type, r.data]),
      [[`${name}.`, 60, 'A', '192.0.2.10']],
    );
    t.deepEqual(
      (await q(name, 'AAAA')).answer.map((r) => r.data),
      ['2001:db8::10'],
    );
  }
});

test('MX, NS, SOA, SRV for RFC 6186/8314 with the real ports, PTR, ANY', async (t) => {
  const mx = await q('lab.test', 'MX');
  t.deepEqual(
    mx.answer.map((r) => r.data),
    ['10 labnet.lab.test.'],
  );
  t.deepEqual(
    mx.additional.map((r) => `${r.type} ${r.data}`),
    ['A 192.0.2.10', 'AAAA 2001:db8::10'],
  );
  t.deepEqual(
    (await q('lab.test', 'NS')).answer.map((r) => r.data),
    ['labnet.lab.test.'],
  );
  const soa = (await q('lab.test', 'SOA')).answer[0].data.split(' ');
  t.deepEqual([soa[0], soa[1], soa.slice(3).join(' ')], ['labnet.lab.test.', 'hostmaster.lab.test.', '3600 600 86400 30']);
  const srv: Record<string, string> = {
    _submission: `0 1 ${lab.port('smtp', 'submission')} labnet.lab.test.`,
    _submissions: `0 1 ${lab.port('smtp', 'smtps')} labnet.lab.test.`,
    _imap: `0 1 ${lab.port('imap', 'imap')} labnet.lab.test.`,
    _imaps: `0 1 ${lab.port('imap', 'imaps')} labnet.lab.test.`,
    _pop3: `0 1 ${lab.port('pop3', 'pop3')} labnet.lab.test.`,
    // pop3s is switched off in this lab: "decidedly not available".
    _pop3s: '0 0 0 .',
  };
  for (const [service, want] of Object.entries(srv)) {
    const r = await q(`${service}._tcp.lab.test`, 'SRV');
    t.deepEqual(
      r.answer.map((x) => x.data),
      [want],
      service,
    );
  }
  const ptr = await q('-x', '192.0.2.10');
  t.deepEqual(
    ptr.answer.map((r) => [r.name, r.data]),
    [['10.2.0.192.in-addr.arpa.', 'labnet.lab.test.']],
  );
  t.is((await q('-x', '192.0.2.99')).status, 'NXDOMAIN');
  const any = await q('lab.test', 'ANY');
  t.deepEqual(any.answer.map((r) => r.type).sort(), ['A', 'AAAA', 'MX', 'NS', 'SOA']);
});

test('NXDOMAIN and NODATA carry the SOA (RFC 2308); other zones are REFUSED even with recursion desired', async (t) => {
  const nx = await q('nothere.lab.test', 'A');
  t.is(nx.status, 'NXDOMAIN');
  t.true(nx.flags.includes('aa'));
  t.deepEqual(
    nx.authority.map((r) => [r.name, r.ttl, r.type]),
    [['lab.test.', 30, 'SOA']],
  );
  const nodata = await q('mail.lab.test', 'MX');
  t.is(nodata.status, 'NOERROR');
  t.is(nodata.answer.length, 0);
  t.is(nodata.authority[0].type, 'SOA');
  for (const name of ['example.com', 'www.debian.org', 'lab.test.example.com']) {
    const r = await q(name, 'A', '+rec');
    t.is(r.status, 'REFUSED', name);
    t.false(r.flags.includes('ra'), name);
    t.false(r.flags.includes('aa'), name);
    t.true(r.raw.includes('recursion requested but not available'), name);
  }
  t.is((await q('-x', '8.8.8.8')).status, 'REFUSED');
  t.is((await q('lab.test', 'AXFR')).raw.includes('Transfer failed'), true);
});

test('TCP: the same answers over TCP (+tcp)', async (t) => {
  const udp = await q('_imaps._tcp.lab.test', 'SRV');
  const tcp = await q('_imaps._tcp.lab.test', 'SRV', '+tcp');
  t.is(udp.transport, 'UDP', udp.raw);
  t.is(tcp.transport, 'TCP', tcp.raw);
  t.deepEqual(tcp.answer, udp.answer);
  t.deepEqual(tcp.additional, udp.additional);
});

test('truncation: a 512-octet answer limit sets TC, and dig retries over TCP and gets all 40 addresses', async (t) => {
  const p = big.port('dns');
  const truncated = await dig('127.0.0.1', p, ['labnet.lab.test', '+noedns', '+ignore']);
  t.true(truncated.flags.includes('tc'));
  t.is(truncated.answer.length, 0);
  const retried = await dig('127.0.0.1', p, ['labnet.lab.test', '+noedns']);
  t.true(retried.retriedOverTcp);
  t.is(retried.transport, 'TCP');
  t.is(retried.answer.length, 40);
  t.false(retried.flags.includes('tc'));
});

test('EDNS: the buffer size is honoured (512 truncates, 1232 fits), ours is 1232, DO is echoed, version 1 gets BADVERS', async (t) => {
  const p = big.port('dns');
  const at512 = await dig('127.0.0.1', p, ['labnet.lab.test', '+bufsize=512', '+ignore']);
  t.true(at512.flags.includes('tc'));
  t.is(at512.edns?.udp, 1232);
  const at1232 = await dig('127.0.0.1', p, ['labnet.lab.test', '+bufsize=1232']);
  t.false(at1232.flags.includes('tc'));
  t.is(at1232.transport, 'UDP');
  t.is(at1232.answer.length, 40);
  t.true((at1232.size ?? 0) > 512);
  const at4096 = await dig('127.0.0.1', p, ['labnet.lab.test', '+bufsize=4096', '+dnssec']);
  t.is(at4096.edns?.udp, 1232);
  t.deepEqual(at4096.edns?.flags, ['do']);
  const v1 = await q('labnet.lab.test', '+edns=1', '+noednsnegotiation');
  t.is(v1.status, 'BADVERS');
  t.is(v1.edns?.version, 0);
  t.is(v1.answer.length, 0);
});

/** Sends datagrams from one socket and collects what comes back until `until` says stop. */
function exchange(datagrams: Buffer[], until: (got: Buffer[]) => boolean): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`only ${got.length} answers`));
    }, 5000);
    s.on('message', (m) => {
      got.push(m);
      if (until(got)) {
        clearTimeout(timer);
        s.close();
        resolve(got);
      }
    });
    s.bind(0, '127.0.0.1', () => {
      for (const d of datagrams) s.send(d, port, '127.0.0.1');
    });
  });
}

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const GOOD = hex('0077 0100 0001 0000 0000 0000 036c6162 0474657374 00 0001 0001');

test('malformed datagrams: FORMERR with the ID for bad names and counts; runts and responses get nothing', async (t) => {
  const bad = [
    hex('0001 0100 0001 0000 0000 0000 c00c 0001 0001'), // pointer to itself
    hex('0002 0100 0001 0000 0000 0000 c00e c00c 0001 0001'), // two pointers in a loop
    hex('0003 0100 0002 0000 0000 0000 036c6162 0474657374 00 0001 0001'), // QDCOUNT 2, one question
    hex('0004 0100 0001 0000 0000 0000 05616263'), // name cut short
    hex('0005 0100 0001 ffff ffff ffff 036c6162 0474657374 00 0001 0001'), // absurd counts
    hex('0006 0100 0001 0000 0000 0000 40 0001 0001'), // label type 01
  ];
  const silent = [hex('0102 03'), hex('0008 8180 0001 0000 0000 0000 036c6162 0474657374 00 0001 0001')];
  // The good query last: its answer proves the ones before it were all handled (one socket, in order, loopback).
  const got = await exchange([...bad, ...silent, GOOD], (g) => g.some((m) => m.readUInt16BE(0) === 0x77));
  const byId = new Map(got.map((m) => [m.readUInt16BE(0), m]));
  for (let id = 1; id <= 6; id++) {
    const r = byId.get(id);
    t.truthy(r, `answer to ${id}`);
    t.is(r![3] & 0x0f, 1, `FORMERR for ${id}`);
    t.is(r![2] & 0x80, 0x80);
  }
  t.false(byId.has(0x0102));
  t.false(byId.has(8));
  t.is(got.length, 7);
});

function tcpConnect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function frame(m: Buffer): Buffer {
  const f = Buffer.alloc(m.length + 2);
  f.writeUInt16BE(m.length, 0);
  m.copy(f, 2);
  return f;
}

function closed(s: Socket): Promise<void> {
  return new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));
}

test('TCP: pipelined queries answered in order on one connection; idle connections and oversize messages are closed; a per-address cap', async (t) => {
  const s = await tcpConnect();
  const ids = [0x10, 0x11, 0x12];
  const queries = ids.map((id) => {
    const m = Buffer.from(GOOD);
    m.writeUInt16BE(id, 0);
    return frame(m);
  });
  let buf = Buffer.alloc(0);
  const answers: number[] = [];
  const done = new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(buf.readUInt16BE(2));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (answers.length === 3) resolve();
    });
  });
  s.write(Buffer.concat(queries));
  await done;
  t.deepEqual(answers, ids);
  // tcpIdleTimeoutMs is 400 ms in this lab: the server closes the quiet connection.
  const t0 = Date.now();
  await closed(s);
  t.true(Date.now() - t0 < 5000);

  const huge = await tcpConnect();
  huge.write(Buffer.from([0xea, 0x60, 1, 2, 3]));
  await closed(huge);
  t.pass();

  // tcpMaxConnectionsPerAddress is 3: a fourth connection from 127.0.0.1 is closed at once.
  const three = await Promise.all([tcpConnect(), tcpConnect(), tcpConnect()]);
  const fourth = await tcpConnect();
  await closed(fourth);
  for (const c of three) c.destroy();
});

test('--port-offset moves the DNS port and the ports in the SRV records', async (t) => {
  const offset = 1000;
  const dnsPort = (await freePort()) - offset;
  const subPort = (await freePort()) - offset;
  t.true(dnsPort > 0 && subPort > 0);
  const shifted = await startLabProcess({
    only: ['dns', 'smtp'],
    args: ['--port-offset', String(offset)],
    config: { services: { dns: { ...HOST, port: dnsPort }, smtp: { port: 0, submissionPort: subPort, smtpsPort: 0 } } },
  });
  try {
    t.is(shifted.port('dns'), dnsPort + offset);
    t.is(shifted.port('dns', 'dns-tcp'), dnsPort + offset);
    const r = await dig('127.0.0.1', dnsPort + offset, ['_submission._tcp.lab.test', 'SRV']);
    t.deepEqual(
      r.answer.map((x) => x.data),
      [`0 1 ${subPort + offset} labnet.lab.test.`],
    );
  } finally {
    await shifted.stop();
    shifted.cleanup();
  }
});
