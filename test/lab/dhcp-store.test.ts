// The lab's DHCP packet window off the JS heap (core/lab/dhcp-store.ts, issue 14): a packed packet
// comes back as the same view, the window keeps order, MACs and seqs, lets the oldest go and reuses
// its slots (the Buffers stop growing at the window's size), keeps an oversized packet whole; and the
// hub on the lab's stream: the packets before a client's first ACK are republished to the address it
// got, a renewal's ACK (same address) republishes nothing.
import test from 'ava';
import type { PacketEvent, EventBus } from '../../core/events.js';
import { TOKENS } from '../../core/tokens.js';
import { dhcpPacketView, packDhcpPacket, unpackDhcpPacket, type PackedDhcpPacket } from '../../core/lab/dhcp-view.js';
import { DHCP_SLOT, DhcpPacketStore } from '../../core/lab/dhcp-store.js';
import type { DhcpPacketData, HelloData } from '../../core/lab/wire.js';
import type { DhcpPacket } from '../../services/dhcp/packet.js';
import { chaddrOf, dhcpPacketEvent } from './dhcp-fixture.js';
import { followAs } from './lab-client.js';
import { startLabFor } from './lab-fixture.js';

const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** A DHCP packet event as services/dhcp publishes it (message type `type`, client MAC 02:00:00:00:00:<macByte>). */
function packet(type: number, macByte = 0xef, over: Partial<DhcpPacket> = {}, options: Array<[number, number[]]> = []): PacketEvent {
  return dhcpPacketEvent(type, { xid: 0xcafe0000 + macByte, chaddr: chaddrOf(0, 0, macByte), ...over }, options, {
    time: 1_000_000 + type,
    summary: `type ${type} for ${macByte}`,
  });
}

const roundTrip = (p: DhcpPacketData): DhcpPacketData => unpackDhcpPacket(JSON.parse(JSON.stringify(packDhcpPacket(p))) as PackedDhcpPacket);

test('a packed DHCP packet view comes back equal: fields, options (known, unknown, odd text), sentence, probe', (t) => {
  const offer = dhcpPacketView(
    packet(2, 1, { yiaddr: ip(10, 0, 0, 100), flags: 0x8000 }, [
      [1, [255, 255, 255, 0]],
      [51, [0, 0, 14, 16]],
      [12, [...Buffer.from('<b>é\u2028')]],
      [200, [1, 2]],
    ]),
    7,
  );
  t.deepEqual(roundTrip(offer), offer);
  const probe = { ...dhcpPacketView(packet(1, 2), 9), probe: true };
  t.deepEqual(roundTrip(probe), probe);
  t.is(roundTrip(probe).probe, true);
  const bootp = dhcpPacketView({ ...packet(1, 3), fields: { ...packet(1, 3).fields, options: {} } }, 3);
  t.is(bootp.type, 'BOOTREQUEST');
  t.deepEqual(roundTrip(bootp), bootp);
  t.is(roundTrip(bootp).sentence, 'A BOOTP message without a DHCP message type.');
});

test('the store keeps order, MACs and seqs, lets the oldest go, reuses slots, and keeps an oversized packet whole', (t) => {
  const store = new DhcpPacketStore();
  const cap = 1000;
  const kept: DhcpPacketData[] = [];
  let octetsAtCap = 0;
  for (let seq = 1; seq <= 5000; seq++) {
    const view = dhcpPacketView(packet(seq % 2 ? 3 : 5, seq % 10, { yiaddr: ip(10, 0, 0, seq % 10) }, [[51, [0, 0, 0, 60]]]), seq);
    store.push(view);
    kept.push(view);
    if (store.size > cap) {
      t.is(store.shift(), kept.shift()!.mac);
    }
    if (seq === cap) octetsAtCap = store.octets;
  }
  t.is(store.size, cap);
  t.is(store.octets, octetsAtCap, 'the slot Buffers stop growing once the window is full');
  t.true(store.octets <= Math.ceil(cap / 256) * 256 * DHCP_SLOT);
  for (const i of [0, 1, 499, cap - 1]) {
    t.is(store.seqAt(i), kept[i].seq);
    t.is(store.macAt(i), kept[i].mac);
    t.deepEqual(store.at(i), kept[i]);
  }
  // The oldest packet of one MAC goes; the others stay in order.
  const mac = kept[5].mac;
  const first = kept.findIndex((p) => p.mac === mac);
  t.true(store.removeFirstOf(mac));
  kept.splice(first, 1);
  t.is(store.size, cap - 1);
  t.deepEqual(
    Array.from({ length: store.size }, (_, i) => store.seqAt(i)),
    kept.map((p) => p.seq),
  );
  t.false(store.removeFirstOf('no:such:mac'));
  // Larger than a slot (a long summary): kept in a Buffer of its own, whole, until it goes.
  const big = { ...dhcpPacketView(packet(1, 42), 9000), summary: 'é'.repeat(DHCP_SLOT) };
  store.push(big);
  t.is(store.oversized, 1);
  t.deepEqual(store.at(store.size - 1), big);
  const marked = { ...store.at(store.size - 1), probe: true };
  store.set(store.size - 1, marked);
  t.deepEqual(store.at(store.size - 1), marked);
  while (store.size > 0) store.shift();
  t.is(store.oversized, 0);
  t.is(store.shift(), undefined);
});

test.serial("the hub republishes a client's earlier packets to the address its first ACK gave, and nothing at a renewal's ACK", async (t) => {
  const alice = { name: 'alice', password: 'alice-Secret-1' };
  const teach = { name: 'teach', password: 'teach-Secret-3' };
  const lab = await startLabFor(t, { users: [alice, teach], instructors: ['teach'], lab: {}, services: { http: { port: 0, httpsPort: 0 } } });
  const port = lab.port('http');
  // The student's laptop: the address the DHCP exchange gives it is the one it browses the lab from.
  const laptop = '127.0.0.5';
  const student = await followAs(t, port, alice, laptop);
  const instructor = await followAs(t, port, teach);
  const bus = lab.get<EventBus>(TOKENS.Events);
  const yiaddr = ip(127, 0, 0, 5);
  const lease: Array<[number, number[]]> = [[51, [0, 0, 0, 60]]];
  const dora = [packet(1, 5), packet(2, 5, { yiaddr }, lease), packet(3, 5, {}, [[50, [127, 0, 0, 5]]]), packet(5, 5, { yiaddr }, lease)];
  const renewal = [packet(3, 5, { ciaddr: yiaddr }), packet(5, 5, { ciaddr: yiaddr, yiaddr }, lease)];
  for (const e of [...dora, ...renewal, ...renewal]) bus.publish(e);
  // Another client's DISCOVER last: once the instructor has it, everything before it has arrived.
  bus.publish(packet(1, 6));
  await bus.settled();
  const dhcp = (c: typeof student): DhcpPacketData[] => c.of('dhcp').map((e) => JSON.parse(e.data) as DhcpPacketData);
  await instructor.until(() => dhcp(instructor).some((p) => p.mac.endsWith(':06')), 10_000, 'the last DISCOVER');
  const seqsOf = (ps: DhcpPacketData[]): number[] => ps.map((p) => p.seq);
  const own = dhcp(instructor).filter((p) => p.mac.endsWith(':05'));
  const unique = [...new Map(own.map((p) => [p.seq, p])).values()];
  t.is(unique.length, 8, 'DORA and two renewals');
  t.deepEqual(
    unique.map((p) => p.type),
    ['DHCPDISCOVER', 'DHCPOFFER', 'DHCPREQUEST', 'DHCPACK', 'DHCPREQUEST', 'DHCPACK', 'DHCPREQUEST', 'DHCPACK'],
  );
  t.is(own.length, 8 + 3, 'the three packets before the first ACK again, nothing again at the renewals');
  await student.until(() => dhcp(student).length >= 8, 10_000, "the student's packets");
  const mine = dhcp(student);
  // Visibility is decided when the stream is flushed: a packet that went out in the same flush as the
  // ACK reaches the student twice, with one seq (the page keeps one).
  t.deepEqual(
    [...new Set(seqsOf(mine))].sort((a, b) => a - b),
    seqsOf(unique),
    'the student sees every packet of its exchange',
  );
  t.is(mine.filter((p) => p.seq > unique[3].seq).length, 4, 'the renewals once each');
  t.false(
    mine.some((p) => p.mac.endsWith(':06')),
    "another client's packet is not the student's",
  );
  // A viewer arriving now gets the window from the store, equal to what went out live.
  const late = await followAs(t, port, teach);
  await late.until(() => late.hello() !== undefined, 10_000, 'hello');
  const hello = late.hello() as HelloData;
  const live = new Map(dhcp(instructor).map((p) => [p.seq, p]));
  t.is(hello.dhcp.packets.length, 9);
  for (const p of hello.dhcp.packets) t.deepEqual(p, live.get(p.seq));
});
