// The RFC 2131 4.3 state machine in process (no sockets): which request gets which answer, and the
// allocation rules (sticky, never two clients on one address, declined addresses kept out).
import test from 'ava';
import { FreeAddressIndex } from '../../services/dhcp/allocator.js';
import { ipToInt, intToIp, parseCidr } from '../../services/dhcp/ipv4.js';
import { LeaseStore } from '../../services/dhcp/lease-store.js';
import { DhcpServer, type Reservation } from '../../services/dhcp/server.js';
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

test("INIT-REBOOT: NAK (broadcast) for another network, outside the pool or another client's address; ACK for its own", (t) => {
  const { server } = makeServer();
  const ipA = lease(server, A);
  for (const requested of ['10.9.9.9', '10.0.0.200', ipA]) {
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
  t.regex(out.warning!, /pool exhausted/);
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
