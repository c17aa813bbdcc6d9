// The DNS service inside labnet (startLabnet): packet events for queries and answers, names from the
// LabNames registry (what DHCP feeds) appearing and going away with their lease, the automatic host
// addresses for a client on loopback, and the per-client rate limit with its notice.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLabnet } from '../../app/labnet.js';
import type { PacketEvent, ProtocolEvent } from '../../core/events.js';
import type { LabNames } from '../../core/lab-names.js';
import { TOKENS } from '../../core/tokens.js';
import type { Clock } from '../../core/clock.js';
import { dig } from './dig.js';

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(dns: Record<string, unknown>, clock?: Clock) {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-dns-'));
  dirs.push(dataDir);
  return startLabnet({
    defaults: false,
    logLevel: 'silent',
    ...(clock ? { clock } : {}),
    config: { listen: '127.0.0.1', dataDir, services: { dns: { port: 0, rateLimitPerSecond: 0, ...dns } } },
  });
}

test('every query and answer is a packet event with decoded header flags, question and answers', async (t) => {
  const lab = await start({ hostAddresses: ['192.0.2.10'] });
  const events: ProtocolEvent[] = [];
  lab.events.subscribe((e) => events.push(e), { types: ['packet'] });
  try {
    await dig('127.0.0.1', lab.port('dns'), ['labnet.lab.test', 'A', '+norec']);
    await dig('127.0.0.1', lab.port('dns'), ['example.com', 'A']);
    await lab.events.settled();
    const dns = events.filter((e): e is PacketEvent => e.type === 'packet' && e.service === 'dns');
    t.is(dns.length, 4);
    const [q1, a1, , a2] = dns;
    t.is(q1.direction, 'in');
    t.is(q1.peer.address, '127.0.0.1');
    t.regex(q1.summary, /^query 0x[0-9a-f]{4} A labnet\.lab\.test\. edns udp=1232 \(udp\)$/);
    t.like(q1.fields, { transport: 'udp', qr: 'query', opcode: 'QUERY', rd: false, question: [{ name: 'labnet.lab.test.', type: 'A', class: 'IN' }] });
    t.is(a1.direction, 'out');
    t.regex(a1.summary, /^response 0x[0-9a-f]{4} NOERROR aa A labnet\.lab\.test\. -> 192\.0\.2\.10 \(udp, \d+ octets\)$/);
    t.like(a1.fields, {
      qr: 'response',
      rcode: 'NOERROR',
      aa: true,
      ra: false,
      flags: ['qr', 'aa'],
      answer: [{ name: 'labnet.lab.test.', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.10' }],
      edns: { version: 0, udpSize: 1232, do: false },
    });
    const header = a1.fields.header as Array<{ field: string; label: string; offset: number; mask?: string; value: number }>;
    t.like(
      header.find((h) => h.field === 'aa'),
      { label: 'Authoritative answer', offset: 2, mask: '0x0400', value: 1 },
    );
    t.like(
      header.find((h) => h.field === 'ancount'),
      { offset: 6, value: 1 },
    );
    t.like(a2.fields, { rcode: 'REFUSED', aa: false, answer: [] });
  } finally {
    await lab.stop();
  }
});

test('a malformed query is an event with the error; the FORMERR answer says why', async (t) => {
  const lab = await start({ hostAddresses: ['192.0.2.10'] });
  const events: PacketEvent[] = [];
  lab.events.subscribe((e) => e.type === 'packet' && events.push(e));
  try {
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp4');
    const got = new Promise<Buffer>((r) => s.once('message', r));
    s.send(Buffer.from('abcd01000001000000000000c00c00010001', 'hex'), lab.port('dns'), '127.0.0.1');
    const answer = await got;
    s.close();
    t.is(answer[3] & 0xf, 1);
    await lab.events.settled();
    t.like(events[0].fields, { error: { code: 'BAD_POINTER' } });
    t.regex(events[0].summary, /^malformed message \(BAD_POINTER/);
    t.like(events[1].fields, { rcode: 'FORMERR', formerr: { code: 'BAD_POINTER' } });
    t.regex(events[1].summary, /FORMERR.*\[BAD_POINTER/);
  } finally {
    await lab.stop();
  }
});

test('DHCP names through LabNames: A and PTR while the lease lasts, gone on release and on expiry, latest lease wins a name', async (t) => {
  let now = Date.now();
  const clock: Clock = { now: () => now };
  const lab = await start({ hostAddresses: ['192.168.50.1'], reverseSubnets: ['192.168.50.0/24'] }, clock);
  const p = lab.port('dns');
  const names = lab.get<LabNames>(TOKENS.LabNames);
  try {
    t.is((await dig('127.0.0.1', p, ['alice-laptop.lab.test'])).status, 'NXDOMAIN');
    t.is(names.set('192.168.50.101', 'Alice-Laptop.home.example', now + 60_000), 'alice-laptop');
    const a = await dig('127.0.0.1', p, ['alice-laptop.lab.test']);
    t.deepEqual(
      a.answer.map((r) => r.data),
      ['192.168.50.101'],
    );
    t.deepEqual(
      (await dig('127.0.0.1', p, ['-x', '192.168.50.101'])).answer.map((r) => r.data),
      ['alice-laptop.lab.test.'],
    );
    // The same name from a newer lease moves it.
    names.set('192.168.50.102', 'alice-laptop', now + 60_000);
    t.deepEqual(
      (await dig('127.0.0.1', p, ['alice-laptop.lab.test'])).answer.map((r) => r.data),
      ['192.168.50.102'],
    );
    t.is((await dig('127.0.0.1', p, ['-x', '192.168.50.101'])).status, 'NXDOMAIN');
    // Unusable host names are not names.
    t.is(names.set('192.168.50.103', 'bad name!', now + 60_000), undefined);
    // Release.
    names.remove('192.168.50.102');
    t.is((await dig('127.0.0.1', p, ['alice-laptop.lab.test'])).status, 'NXDOMAIN');
    // Expiry: nobody removes it; the lease's end does.
    names.set('192.168.50.104', 'bob', now + 5_000);
    t.is((await dig('127.0.0.1', p, ['bob.lab.test'])).answer.length, 1);
    now += 6_000;
    t.is((await dig('127.0.0.1', p, ['bob.lab.test'])).status, 'NXDOMAIN');
  } finally {
    await lab.stop();
  }
});

test('automatic host addresses: a client on loopback gets 127.0.0.1 and ::1, and the loopback PTR', async (t) => {
  const lab = await start({});
  try {
    const p = lab.port('dns');
    t.deepEqual(
      (await dig('127.0.0.1', p, ['labnet.lab.test'])).answer.map((r) => r.data),
      ['127.0.0.1'],
    );
    t.deepEqual(
      (await dig('127.0.0.1', p, ['mail.lab.test', 'AAAA'])).answer.map((r) => r.data),
      ['::1'],
    );
    t.deepEqual(
      (await dig('127.0.0.1', p, ['-x', '127.0.0.1'])).answer.map((r) => r.data),
      ['labnet.lab.test.'],
    );
  } finally {
    await lab.stop();
  }
});

test('rate limit: past the burst a client is dropped over UDP and REFUSED over TCP, with one notice', async (t) => {
  // The clock stands still: no token comes back during the test.
  const now = Date.now();
  const lab = await start({ hostAddresses: ['192.0.2.10'], rateLimitPerSecond: 1, rateLimitBurst: 5 }, { now: () => now });
  const notices: ProtocolEvent[] = [];
  lab.events.subscribe((e) => notices.push(e), { types: ['notice'] });
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  try {
    const p = lab.port('dns');
    let received = 0;
    s.on('message', () => received++);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const query = Buffer.from('000101000001000000000000' + '036c6162047465737400' + '00010001', 'hex');
    for (let i = 0; i < 20; i++) s.send(query, p, '127.0.0.1');
    const counters = () => (lab.status().find((x) => x.name === 'dns')!.detail as { counters: { queries: number; rateLimited: number } }).counters;
    const end = Date.now() + 10_000;
    while ((counters().queries < 20 || received < 5) && Date.now() < end) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    t.is(counters().queries, 20);
    t.is(counters().rateLimited, 15);
    t.is(received, 5);
    const tcp = await dig('127.0.0.1', p, ['labnet.lab.test', '+tcp']);
    t.is(tcp.status, 'REFUSED');
    await lab.events.settled();
    const limited = notices.filter((e) => e.type === 'notice' && /sends more than 1 DNS queries a second/.test(e.message));
    t.is(limited.length, 1);
  } finally {
    s.close();
    await lab.stop();
  }
});

/** Sends datagrams from one socket; resolves with the answers once `count` arrived. */
async function udpExchange(port: number, address: string, datagrams: Buffer[], count: number): Promise<Buffer[]> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`${got.length} of ${count} answers`));
    }, 5000);
    s.on('message', (m) => {
      got.push(m);
      if (got.length === count) {
        clearTimeout(timer);
        s.close();
        resolve(got);
      }
    });
    s.bind(0, address, () => {
      for (const d of datagrams) s.send(d, port, address);
    });
  });
}

test('both UDP transports (batch addon and node:dgram) give the same answers, octet for octet', async (t) => {
  const now = Date.now();
  const clock: Clock = { now: () => now };
  const many = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
  const batch = await start({ hostAddresses: many, udpTransport: 'batch' }, clock);
  const dgram = await start({ hostAddresses: many, udpTransport: 'dgram' }, clock);
  try {
    t.like(batch.status().find((s) => s.name === 'dns')!.detail, { udpTransport: 'batch' });
    t.like(dgram.status().find((s) => s.name === 'dns')!.detail, { udpTransport: 'dgram' });
    const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
    const queries = [
      hex('0001 0100 0001 0000 0000 0000 066c61626e6574036c616204746573740000010001'), // labnet.lab.test A (40 answers: TC)
      hex('0002 0100 0001 0000 0000 0001 066c61626e6574036c616204746573740000010001 0000291000000000000000'), // with EDNS 4096
      hex('0003 0100 0001 0000 0000 0000 c00c 0001 0001'), // pointer loop: FORMERR
      hex('0004 0100 0001 0000 0000 0000 076578616d706c6503636f6d0000010001'), // example.com: REFUSED
      hex('0005 2800 0001 0000 0000 0000 036c616204746573740000060001'), // opcode UPDATE: NOTIMP
    ];
    // One answer each, plus nothing for a runt sent first.
    const a = await udpExchange(batch.port('dns'), '127.0.0.1', [Buffer.from([1, 2, 3]), ...queries], queries.length);
    const b = await udpExchange(dgram.port('dns'), '127.0.0.1', [Buffer.from([1, 2, 3]), ...queries], queries.length);
    const byId = (xs: Buffer[]) => new Map(xs.map((x) => [x.readUInt16BE(0), x.toString('hex')]));
    t.deepEqual(byId(a), byId(b));
    t.is(a.find((x) => x.readUInt16BE(0) === 1)![2] & 0x02, 0x02, 'TC set without EDNS');
    t.true(a.find((x) => x.readUInt16BE(0) === 2)!.length > 512, 'EDNS answer above 512 octets');
  } finally {
    await batch.stop();
    await dgram.stop();
  }
});

test('IPv6: the batch transport on ::1 answers, and the client address is seen as ::1', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'labnet-dns-'));
  dirs.push(dataDir);
  const lab = await startLabnet({
    defaults: false,
    logLevel: 'silent',
    config: { listen: '::1', dataDir, services: { dns: { port: 0, rateLimitPerSecond: 0, udpTransport: 'batch' } } },
  });
  const events: PacketEvent[] = [];
  lab.events.subscribe((e) => e.type === 'packet' && events.push(e));
  try {
    const r = await dig('::1', lab.port('dns'), ['labnet.lab.test', 'AAAA']);
    t.deepEqual(
      r.answer.map((x) => x.data),
      ['::1'],
    );
    await lab.events.settled();
    t.is(events[0].peer.address, '::1');
  } finally {
    await lab.stop();
  }
});
