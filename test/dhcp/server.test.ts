// The RFC 2131 4.3 state machine in process (no sockets): which request gets which answer, and the
// allocation rules (sticky, never two clients on one address, declined addresses kept out).
import test from 'ava';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FreeAddressIndex } from '../../services/dhcp/allocator.js';
import { ipToInt, intToIp, parseCidr } from '../../services/dhcp/ipv4.js';
import { LeaseStore } from '../../services/dhcp/lease-store.js';
import { DhcpServer, type DhcpSettings, type Reservation } from '../../services/dhcp/server.js';
import { LeaseJournal } from '../../services/dhcp/lease-journal.js';
import { RateLimiter } from '../../services/dhcp/rate-limit.js';
import { messageType, optionIp, type DhcpPacket } from '../../services/dhcp/packet.js';
import { MSG, OPT } from '../../services/dhcp/options.js';
import { buildPacket } from './packet-client.js';

const SERVER = ipToInt('10.0.0.1');

function makeServer(range: [string, string] = ['10.0.0.10', '10.0.0.19'], reservations: Reservation[] = []) {
  const index = new FreeAddressIndex(ipToInt(range[0]), ipToInt(range[1]), new Set([SERVER, ...reservations.map((r) => r.ip)]));
  const store = new LeaseStore(index, undefined);
  const server = new DhcpServer(
    {
      serverIp: SERVER,
      subnet: parseCidr('10.0.0.0/24')!,
      router: SERVER,
      dns: [ipToInt('10.0.0.53')],
      domain: 'lab.test',
      leaseSeconds: 600,
      declineSeconds: 60,
      offerHoldMs: 30_000,
      serverPort: 67,
      reservations: new Map(reservations.map((r) => [r.mac, r])),
    },
    store,
  );
  return { server, store };
}

let xid = 1;
function pkt(
  type: number,
  mac: string,
  opts: { requested?: string; serverId?: string; ciaddr?: string; giaddr?: string; clientId?: string; prl?: number[]; flags?: number } = {},
): DhcpPacket {
  const options: Record<string, string> = {};
  if (opts.requested) options[OPT.requestedAddress] = Buffer.from(opts.requested.split('.').map(Number)).toString('hex');
  if (opts.serverId) options[OPT.serverId] = Buffer.from(opts.serverId.split('.').map(Number)).toString('hex');
  if (opts.clientId) options[OPT.clientId] = opts.clientId;
  if (opts.prl) options[OPT.parameterRequestList] = Buffer.from(opts.prl).toString('hex');
  return buildPacket({
    type,
    xid: xid++,
    mac,
    ...(opts.ciaddr ? { ciaddr: opts.ciaddr } : {}),
    ...(opts.giaddr ? { giaddr: opts.giaddr } : {}),
    flags: opts.flags ?? 0,
    options,
  });
}

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const now = 1_000_000;

function lease(server: DhcpServer, mac: string, t = now): string {
  const offer = server.handle(pkt(MSG.DISCOVER, mac), t);
  const ip = intToIp(offer.reply!.yiaddr);
  const ack = server.handle(pkt(MSG.REQUEST, mac, { requested: ip, serverId: '10.0.0.1' }), t);
  if (messageType(ack.reply!) !== MSG.ACK) throw new Error('no ACK');
  return ip;
}

test('DISCOVER gets an OFFER held for the client; SELECTING REQUEST gets an ACK', (t) => {
  const { server } = makeServer();
  const offer = server.handle(pkt(MSG.DISCOVER, A), now);
  t.is(messageType(offer.reply!), MSG.OFFER);
  t.is(intToIp(offer.reply!.yiaddr), '10.0.0.10');
  t.deepEqual(offer.to, { address: '255.255.255.255', port: 68 });
  // Held: B is offered another address.
  const offerB = server.handle(pkt(MSG.DISCOVER, B), now);
  t.is(intToIp(offerB.reply!.yiaddr), '10.0.0.11');
  const ack = server.handle(pkt(MSG.REQUEST, A, { requested: '10.0.0.10', serverId: '10.0.0.1' }), now);
  t.is(messageType(ack.reply!), MSG.ACK);
  t.truthy(ack.durable);
  t.is(optionIp(ack.reply!, OPT.serverId), SERVER);
});

test('options follow the Parameter Request List order; server id, lease time and mask always', (t) => {
  const { server } = makeServer();
  const offer = server.handle(pkt(MSG.DISCOVER, A, { prl: [15, 6, 3, 1] }), now);
  const codes = [...offer.reply!.options.keys()];
  t.deepEqual(codes.slice(0, 5), [53, 15, 6, 3, 1]);
  for (const c of [54, 51, 1]) t.true(codes.includes(c));
  const noPrl = server.handle(pkt(MSG.DISCOVER, B, { prl: [] }), now);
  for (const c of [54, 51, 1]) t.true(noPrl.reply!.options.has(c));
});

test('option 121 is only sent with the default route in it', (t) => {
  const { server } = makeServer();
  const offer = server.handle(pkt(MSG.DISCOVER, A, { prl: [1, 121, 3] }), now);
  const v = offer.reply!.options.get(121);
  t.deepEqual([...v!], [0, 10, 0, 0, 1]);
  const none = server.handle(pkt(MSG.DISCOVER, B, { prl: [1, 3] }), now);
  t.false(none.reply!.options.has(121));
});

test('REQUEST for another server withdraws our offer and gets no answer', (t) => {
  const { server, store } = makeServer();
  server.handle(pkt(MSG.DISCOVER, A), now);
  t.is(store.get(ipToInt('10.0.0.10'))?.state, 'offered');
  const out = server.handle(pkt(MSG.REQUEST, A, { requested: '10.0.0.10', serverId: '10.0.0.2' }), now);
  t.is(out.reply, undefined);
  t.is(store.get(ipToInt('10.0.0.10')), undefined);
  t.true(store.index.isFree(ipToInt('10.0.0.10')));
});

test("INIT-REBOOT: NAK (broadcast) for another network or another client's address; ACK for its own", (t) => {
  const { server } = makeServer();
  const ipA = lease(server, A);
  for (const requested of ['10.9.9.9', ipA]) {
    const out = server.handle(pkt(MSG.REQUEST, B, { requested }), now);
    t.is(messageType(out.reply!), MSG.NAK, requested);
    t.deepEqual(out.to, { address: '255.255.255.255', port: 68 });
    t.is(out.reply!.yiaddr, 0);
  }
  const mine = server.handle(pkt(MSG.REQUEST, A, { requested: ipA }), now);
  t.is(messageType(mine.reply!), MSG.ACK);
});

test("RENEWING is answered by unicast to ciaddr; a renewal of someone else's address is NAKed", (t) => {
  const { server } = makeServer();
  const ipA = lease(server, A);
  const renew = server.handle(pkt(MSG.REQUEST, A, { ciaddr: ipA }), now + 300_000);
  t.is(messageType(renew.reply!), MSG.ACK);
  t.deepEqual(renew.to, { address: ipA, port: 68 });
  t.is(intToIp(renew.reply!.ciaddr), ipA);
  const stolen = server.handle(pkt(MSG.REQUEST, B, { ciaddr: ipA, flags: 0x8000 }), now);
  t.is(messageType(stolen.reply!), MSG.NAK);
});

test('replies through a relay go to giaddr on port 67; a relayed NAK has the broadcast bit', (t) => {
  const { server } = makeServer();
  const offer = server.handle(pkt(MSG.DISCOVER, A, { giaddr: '10.0.0.254' }), now);
  t.deepEqual(offer.to, { address: '10.0.0.254', port: 67 });
  const nak = server.handle(pkt(MSG.REQUEST, B, { requested: '10.9.9.9', giaddr: '10.0.0.254' }), now);
  t.is(messageType(nak.reply!), MSG.NAK);
  t.deepEqual(nak.to, { address: '10.0.0.254', port: 67 });
  t.is(nak.reply!.flags & 0x8000, 0x8000);
  // A relay on another network: labnet has no pool there.
  const foreign = server.handle(pkt(MSG.DISCOVER, B, { giaddr: '172.16.0.1' }), now);
  t.is(foreign.reply, undefined);
  t.regex(foreign.note!, /outside 10\.0\.0\.0\/24/);
});

test('DECLINE keeps the address out of the pool until declineSeconds pass', (t) => {
  const { server, store } = makeServer(['10.0.0.10', '10.0.0.11']);
  const ipA = lease(server, A);
  server.handle(pkt(MSG.DECLINE, A, { requested: ipA, serverId: '10.0.0.1' }), now);
  t.is(store.get(ipToInt(ipA))?.state, 'declined');
  const asked = server.handle(pkt(MSG.DISCOVER, B, { requested: ipA }), now);
  t.not(intToIp(asked.reply!.yiaddr), ipA);
  const nak = server.handle(pkt(MSG.REQUEST, A, { requested: ipA }), now);
  t.is(messageType(nak.reply!), MSG.NAK);
  // After the decline time the address comes back.
  const later = now + 61_000;
  store.sweep(later);
  t.true(store.index.isFree(ipToInt(ipA)));
});

test('RELEASE frees the address; the client gets it back (sticky) while others get fresh ones first', (t) => {
  const { server, store } = makeServer();
  const ipA = lease(server, A);
  server.handle(pkt(MSG.RELEASE, A, { ciaddr: ipA, serverId: '10.0.0.1' }), now);
  t.is(store.get(ipToInt(ipA))?.state, 'released');
  t.true(store.index.isFree(ipToInt(ipA)));
  const b = server.handle(pkt(MSG.DISCOVER, B), now);
  t.not(intToIp(b.reply!.yiaddr), ipA);
  const again = server.handle(pkt(MSG.DISCOVER, A), now);
  t.is(intToIp(again.reply!.yiaddr), ipA);
});

test('clients are keyed by option 61 before chaddr', (t) => {
  const { server } = makeServer();
  const one = server.handle(pkt(MSG.DISCOVER, A, { clientId: 'ff01' }), now);
  const two = server.handle(pkt(MSG.DISCOVER, A, { clientId: 'ff02' }), now);
  t.not(one.reply!.yiaddr, two.reply!.yiaddr);
  t.is(server.clientKey(pkt(MSG.DISCOVER, A)), `hw:1:${A}`);
});

test('an exhausted pool answers nothing and asks for a warning', (t) => {
  const { server } = makeServer(['10.0.0.10', '10.0.0.10']);
  lease(server, A);
  const out = server.handle(pkt(MSG.DISCOVER, B), now);
  t.is(out.reply, undefined);
  t.regex(out.notice!.message, /pool exhausted/);
  t.is(out.notice!.kind, 'exhausted');
});

test('an offer lapses after its hold time; an expired lease returns to the pool', (t) => {
  const { server, store } = makeServer(['10.0.0.10', '10.0.0.10']);
  server.handle(pkt(MSG.DISCOVER, A), now);
  t.is(server.handle(pkt(MSG.DISCOVER, B), now).reply, undefined);
  t.is(intToIp(server.handle(pkt(MSG.DISCOVER, B), now + 31_000).reply!.yiaddr), '10.0.0.10');
  lease(server, B, now + 31_000);
  t.is(server.handle(pkt(MSG.DISCOVER, A), now + 40_000).reply, undefined);
  t.is(intToIp(server.handle(pkt(MSG.DISCOVER, A), now + 31_000 + 601_000).reply!.yiaddr), '10.0.0.10');
  t.is(store.forClient(`hw:1:${A}`)?.state, 'offered');
});

test('reservations: fixed address and host name for the MAC; nobody else gets it; INFORM gets no lease time', (t) => {
  const { server } = makeServer(undefined, [{ mac: A, ip: ipToInt('10.0.0.5'), hostname: 'teacher' }]);
  const offer = server.handle(pkt(MSG.DISCOVER, A), now);
  t.is(intToIp(offer.reply!.yiaddr), '10.0.0.5');
  t.is(Buffer.from(offer.reply!.options.get(OPT.hostName)!).toString(), 'teacher');
  const b = server.handle(pkt(MSG.REQUEST, B, { requested: '10.0.0.5' }), now);
  t.is(messageType(b.reply!), MSG.NAK);
  const inform = server.handle(pkt(MSG.INFORM, B, { ciaddr: '10.0.0.77' }), now);
  t.is(messageType(inform.reply!), MSG.ACK);
  t.false(inform.reply!.options.has(OPT.leaseTime));
  t.is(inform.reply!.yiaddr, 0);
  t.deepEqual(inform.to, { address: '10.0.0.77', port: 68 });
});

test('BOOTREPLY packets and packets without a message type are dropped', (t) => {
  const { server } = makeServer();
  const reply = pkt(MSG.DISCOVER, A);
  reply.op = 2;
  t.regex(server.handle(reply, now).note!, /not BOOTREQUEST/);
  const bootp = pkt(MSG.DISCOVER, A);
  bootp.options.delete(OPT.messageType);
  t.regex(server.handle(bootp, now).note!, /message type/);
  t.is(server.handle(pkt(MSG.OFFER, A), now).reply, undefined);
});

// ---- RFC 2131 4.3.2: a REQUEST binds only on the strength of a record of the client ----

function makeServerWith(settings: Partial<DhcpSettings>, range: [string, string] = ['10.0.0.10', '10.0.0.19']) {
  const made = makeServer(range);
  const server = new DhcpServer({ ...made.server.settings, ...settings }, made.store);
  return { server, store: made.store };
}

test('INIT-REBOOT from a client with no record: silence, nothing bound; authoritative: NAK; never an ACK', (t) => {
  for (const requested of ['10.0.0.12', '10.0.0.200']) {
    const { server, store } = makeServer();
    const out = server.handle(pkt(MSG.REQUEST, A, { requested }), now);
    t.is(out.reply, undefined, requested);
    t.regex(out.note!, /no lease here: no answer \(RFC 2131 4\.3\.2\)/);
    t.is(out.notice?.kind, 'unknown-client');
    t.is(store.get(ipToInt(requested)), undefined, 'nothing recorded');
    t.true(requested !== '10.0.0.12' || store.index.isFree(ipToInt(requested)), 'the address stays free');
    t.is(server.counters.acks, 0);
    const auth = makeServerWith({ authoritative: true });
    const nak = auth.server.handle(pkt(MSG.REQUEST, A, { requested }), now);
    t.is(messageType(nak.reply!), MSG.NAK);
    t.is(auth.store.get(ipToInt(requested)), undefined);
  }
});

test('INIT-REBOOT from a known client: ACK for its address (also once released or expired), NAK for any other', (t) => {
  const { server } = makeServer();
  const ipA = lease(server, A);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: '10.0.0.15' }), now).reply!), MSG.NAK);
  server.handle(pkt(MSG.RELEASE, A, { ciaddr: ipA, serverId: '10.0.0.1' }), now);
  const again = server.handle(pkt(MSG.REQUEST, A, { requested: ipA }), now + 1000);
  t.is(messageType(again.reply!), MSG.ACK, 'its remembered address');
  t.is(intToIp(again.reply!.yiaddr), ipA);
  const later = now + 2_000_000; // the lease (600 s) has expired, the address is still free
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: ipA }), later).reply!), MSG.ACK);
});

test('SELECTING: only the address offered to this client is ACKed; no offer, a lapsed offer or another address: NAK', (t) => {
  const { server, store } = makeServer();
  const sid = { serverId: '10.0.0.1' };
  const never = server.handle(pkt(MSG.REQUEST, A, { requested: '10.0.0.13', ...sid }), now);
  t.is(messageType(never.reply!), MSG.NAK);
  t.is(store.get(ipToInt('10.0.0.13')), undefined);
  const offer = server.handle(pkt(MSG.DISCOVER, A), now);
  const offered = intToIp(offer.reply!.yiaddr);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: '10.0.0.14', ...sid }), now).reply!), MSG.NAK, 'not the offered address');
  t.is(messageType(server.handle(pkt(MSG.REQUEST, B, { requested: offered, ...sid }), now).reply!), MSG.NAK, "another client's offer");
  // The offer lapses (30 s hold) and is swept: the REQUEST that comes too late is refused.
  store.sweep(now + 31_000);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: offered, ...sid }), now + 31_000).reply!), MSG.NAK);
  server.handle(pkt(MSG.DISCOVER, A), now + 32_000);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: offered, ...sid }), now + 32_000).reply!), MSG.ACK);
});

test('RENEWING/REBINDING from a client with no record: silence (authoritative: NAK); from its owner: ACK', (t) => {
  const { server, store } = makeServer();
  const out = server.handle(pkt(MSG.REQUEST, A, { ciaddr: '10.0.0.16' }), now);
  t.is(out.reply, undefined);
  t.is(store.get(ipToInt('10.0.0.16')), undefined);
  const rebinding = server.handle(pkt(MSG.REQUEST, A, { ciaddr: '10.0.0.16', flags: 0x8000 }), now);
  t.is(rebinding.reply, undefined);
  t.is(messageType(makeServerWith({ authoritative: true }).server.handle(pkt(MSG.REQUEST, A, { ciaddr: '10.0.0.16' }), now).reply!), MSG.NAK);
  const ipA = lease(server, A);
  const renew = server.handle(pkt(MSG.REQUEST, A, { ciaddr: ipA }), now + 300_000);
  t.is(messageType(renew.reply!), MSG.ACK);
  t.is(store.get(ipToInt(ipA))?.expires, now + 300_000 + 600_000, 'the lease is extended');
});

test('a client that drops its client identifier (01+MAC) is still the same client, and the reverse', (t) => {
  const clientId = `01${A.replace(/:/g, '')}`;
  for (const [first, then] of [
    [{ clientId }, {}],
    [{}, { clientId }],
  ] as const) {
    const { server, store } = makeServer();
    const offer = server.handle(pkt(MSG.DISCOVER, A, first), now);
    const ip = intToIp(offer.reply!.yiaddr);
    t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: ip, serverId: '10.0.0.1', ...first }), now).reply!), MSG.ACK);
    // Renewing, rebooting and discovering again without (or with) the identifier.
    const renew = server.handle(pkt(MSG.REQUEST, A, { ciaddr: ip, ...then }), now + 1000);
    t.is(messageType(renew.reply!), MSG.ACK, `renew ${JSON.stringify(then)}`);
    t.is(intToIp(renew.reply!.yiaddr), ip);
    t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: ip, ...then }), now + 2000).reply!), MSG.ACK, 'init-reboot');
    t.is(intToIp(server.handle(pkt(MSG.DISCOVER, A, then), now + 3000).reply!.yiaddr), ip, 'discover');
    t.is(store.counts(now + 3000).bound, 1, 'one lease, not two');
    // The lease now carries what the client sent last; the old key finds it too.
    t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { ciaddr: ip, ...first }), now + 4000).reply!), MSG.ACK);
    t.is(store.counts(now + 4000).bound, 1);
  }
  // Two different identifiers on one MAC are two clients (RFC 2132 9.14): the second cannot take the first's lease.
  const { server } = makeServer();
  const offer = server.handle(pkt(MSG.DISCOVER, A, { clientId: 'ff01' }), now);
  const ip = intToIp(offer.reply!.yiaddr);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { requested: ip, serverId: '10.0.0.1', clientId: 'ff01' }), now).reply!), MSG.ACK);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { ciaddr: ip, clientId: 'ff02' }), now).reply!), MSG.NAK);
  t.is(messageType(server.handle(pkt(MSG.REQUEST, A, { ciaddr: ip, clientId: 'ff01' }), now).reply!), MSG.ACK);
});

test('rate limits: per MAC and in total; dropped messages get no answer and a notice; tokens come back with time', (t) => {
  const rateLimit = { perMacPerSecond: 2, perMacBurst: 3, totalPerSecond: 100, totalBurst: 5 };
  const { server } = makeServerWith({ rateLimit });
  const answered = (mac: string, at: number) => server.handle(pkt(MSG.DISCOVER, mac), at).reply !== undefined;
  t.deepEqual(
    [1, 2, 3, 4].map(() => answered(A, now)),
    [true, true, true, false],
  );
  const limited = server.handle(pkt(MSG.DISCOVER, A), now);
  t.is(limited.notice?.kind, 'rate-client');
  t.regex(limited.notice!.message, /02:00:00:00:00:0a sends more than 2 messages\/s/);
  t.true(answered(A, now + 500), 'one token back after 500 ms at 2/s');
  t.false(answered(A, now + 500));
  t.true(answered(B, now + 500), 'another MAC has its own bucket');
  // The total: three in a burst from any MACs, then 2 per second.
  const total = makeServerWith({ rateLimit: { perMacPerSecond: 100, perMacBurst: 100, totalPerSecond: 2, totalBurst: 3 } }).server;
  const macs = [1, 2, 3, 4].map((i) => `02:00:00:00:02:0${i}`);
  t.deepEqual(
    macs.map((mac) => total.handle(pkt(MSG.DISCOVER, mac), now).reply !== undefined),
    [true, true, true, false],
  );
  const over = total.handle(pkt(MSG.DISCOVER, macs[3]), now);
  t.is(over.notice?.kind, 'rate-total');
  t.regex(over.notice!.message, /more than 2 messages\/s together/);
  t.not(total.handle(pkt(MSG.DISCOVER, macs[3]), now + 500).reply, undefined, 'total refills at 2/s');
  t.is(total.counters.rateLimited, 2);
  const off = makeServerWith({ rateLimit: { perMacPerSecond: 0, perMacBurst: 1, totalPerSecond: 0, totalBurst: 1 } }).server;
  for (let i = 0; i < 50; i++) t.not(off.handle(pkt(MSG.DISCOVER, A), now).reply, undefined);
});

test('the per-MAC table is bounded: a flood of random MACs cannot grow it', (t) => {
  const limiter = new RateLimiter({ perMacPerSecond: 1, perMacBurst: 2, totalPerSecond: 0, totalBurst: 1 }, 100);
  for (let i = 0; i < 10_000; i++) limiter.take(`mac${i}`, now);
  t.is(limiter.trackedClients, 100);
  // The newest ones are still tracked (their buckets are spent down).
  t.is(limiter.take('mac9999', now), 'ok');
  t.is(limiter.take('mac9999', now), 'client');
});

test('pool notices: nearly exhausted once at the threshold (re-armed below it), exhausted when nothing is left', (t) => {
  const { server, store } = makeServerWith({ poolWarnPercent: 80 }, ['10.0.0.10', '10.0.0.14']);
  const macs = [1, 2, 3, 4, 5, 6].map((i) => `02:00:00:00:01:0${i}`);
  const notices = macs.map((mac) => server.handle(pkt(MSG.DISCOVER, mac), now).notice);
  t.deepEqual(
    notices.map((n) => n?.kind),
    [undefined, undefined, undefined, 'nearly-exhausted', undefined, 'exhausted'],
  );
  t.regex(notices[3]!.message, /4 of 5 addresses in use \(80%, notice at 80%\)/);
  // Offers lapse: usage falls, the notice is re-armed and given again when usage climbs back.
  store.sweep(now + 31_000);
  t.is(server.handle(pkt(MSG.DISCOVER, macs[0]), now + 31_000).notice, undefined);
  const again = macs.slice(1, 4).map((mac) => server.handle(pkt(MSG.DISCOVER, mac), now + 31_000).notice?.kind);
  t.deepEqual(again, [undefined, undefined, 'nearly-exhausted']);
});

test('INFORM is answered only for an address inside the served subnet', (t) => {
  const { server } = makeServer();
  t.is(messageType(server.handle(pkt(MSG.INFORM, A, { ciaddr: '10.0.0.77' }), now).reply!), MSG.ACK);
  for (const ciaddr of ['192.168.1.5', '10.0.0.255', undefined]) {
    const out = server.handle(pkt(MSG.INFORM, A, ciaddr ? { ciaddr } : {}), now);
    t.is(out.reply, undefined, ciaddr);
    t.regex(out.note!, /INFORM (from .* outside 10\.0\.0\.0\/24|without ciaddr)/);
  }
});

test('a binding the journal cannot record is undone: the offer is back, no lease on the address', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labnet-dhcp-full-'));
  try {
    // /dev/full: every write fails with ENOSPC (a real device, not a mock).
    const path = join(dir, 'leases.journal');
    symlinkSync('/dev/full', path);
    const errors: unknown[] = [];
    const journal = new LeaseJournal(
      path,
      () => false,
      () => [],
      (e) => errors.push(e),
    );
    await journal.open();
    const index = new FreeAddressIndex(ipToInt('10.0.0.10'), ipToInt('10.0.0.19'), new Set([SERVER]));
    const store = new LeaseStore(index, journal);
    const server = new DhcpServer(makeServer().server.settings, store);
    const offer = server.handle(pkt(MSG.DISCOVER, A), now);
    const ip = offer.reply!.yiaddr;
    const ack = server.handle(pkt(MSG.REQUEST, A, { requested: intToIp(ip), serverId: '10.0.0.1' }), now);
    t.is(messageType(ack.reply!), MSG.ACK, 'built, but held back until durable');
    const err = await t.throwsAsync(ack.durable!);
    t.is((err as NodeJS.ErrnoException).code, 'ENOSPC');
    t.is(store.get(ip)?.state, 'offered', 'back to the offer');
    t.is(store.counts(now).bound, 0);
    t.is(journal.failures, 1);
    t.true(errors.length >= 1);
    await journal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
