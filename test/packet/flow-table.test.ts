// The frame store's numeric table of TCP and UDP flows over IPv4 against a plain Map keyed by the
// conversation's text (what the store used before): the same flow is found from either direction,
// deleting finds the right one in a shared chain, and the store's lookups by id and four-tuple agree.
import test from 'ava';
import fc from 'fast-check';
import { ipv4Value, PortFlowTable, type TableFlow } from '../../core/packet/flow-table.js';
import { FrameStore, tupleKey } from '../../core/packet/frame-store.js';
import { ethernet, ipv4, ipv6, tcp } from './craft.js';

interface F extends TableFlow<F> {
  kind: 'tcp' | 'udp';
  clientNum: number;
  serverNum: number;
  client: { port: number };
  server: { port: number };
  tableNext: F | undefined;
}

const textKey = (kind: string, a: number, pa: number, b: number, pb: number): string =>
  a < b || (a === b && pa <= pb) ? `${kind}|${a}|${pa}|${b}|${pb}` : `${kind}|${b}|${pb}|${a}|${pa}`;

test('the flow table finds, adds and deletes flows as a Map keyed by the conversation does', (t) => {
  // Few addresses and ports, so conversations repeat and chains are shared (a table of 16 buckets).
  const endpoint = fc.tuple(fc.constantFrom(0, 1, 0x0a420001, 0xffffffff), fc.constantFrom(0, 80, 443, 65535));
  const op = fc.tuple(fc.constantFrom('add', 'delete', 'get'), fc.constantFrom('tcp' as const, 'udp' as const), endpoint, endpoint);
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const table = new PortFlowTable<F>(4);
      const model = new Map<string, F>();
      for (const [what, kind, [a, pa], [b, pb]] of ops) {
        const key = textKey(kind, a, pa, b, pb);
        const current = model.get(key);
        t.is(table.get(kind, a, pa, b, pb), current);
        t.is(table.get(kind, b, pb, a, pa), current);
        if (what === 'add' && !current) {
          const f: F = { kind, clientNum: a, serverNum: b, client: { port: pa }, server: { port: pb }, tableNext: undefined };
          table.add(f);
          model.set(key, f);
        } else if (what === 'delete' && current) {
          t.true(table.delete(current));
          t.false(table.delete(current));
          model.delete(key);
        }
      }
      for (const [key, f] of model) t.is(table.get(f.kind, f.serverNum, f.server.port, f.clientNum, f.client.port), f, key);
      table.clear();
      for (const f of model.values()) t.is(table.get(f.kind, f.clientNum, f.client.port, f.serverNum, f.server.port), undefined);
    }),
    { numRuns: 300 },
  );
});

test('ipv4Value reads dotted quads only', (t) => {
  t.is(ipv4Value('10.66.0.2'), 0x0a420002);
  t.is(ipv4Value('255.255.255.255'), 0xffffffff);
  t.is(ipv4Value('0.0.0.0'), 0);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.x', 'fe80::1', '::ffff:1.2.3.4', '1.2.3.-4', '1.2.3.4 ']) t.is(ipv4Value(bad), -1, bad);
});

test('the store finds TCP flows by id and four-tuple, over IPv4 and IPv6, and a new connection on the same ports replaces the old', (t) => {
  const store = new FrameStore({ maxFrames: 100, maxBytes: 1 << 20, maxFramesPerFlow: 100, maxFlows: 100, pinnedPerFlow: 8 }, new Map([[80, 'http']]));
  let time = 1_700_000_000_000_000;
  const send = (src: string, dst: string, sport: number, dport: number, flags: string, seq: number): ReturnType<FrameStore['add']> => {
    const seg = tcp(Buffer.alloc(0), { src, dst, sport, dport, seq, ack: 0, flags });
    const data = src.includes(':') ? ethernet(ipv6(seg, { src, dst, next: 6 }), { type: 0x86dd }) : ethernet(ipv4(seg, { protocol: 6, src, dst }));
    return store.add({ interfaceId: 0, linkType: 1, timeUs: (time += 1000), data, originalLength: data.length });
  };
  const first = send('10.66.0.2', '10.66.0.1', 40000, 80, 'S', 100).flow!;
  t.is(send('10.66.0.1', '10.66.0.2', 80, 40000, 'SA', 900).flow, first);
  const v6 = send('fe80::2', 'fe80::1', 40000, 80, 'S', 5).flow!;
  t.not(v6, first);
  t.is(send('fe80::1', 'fe80::2', 80, 40000, 'SA', 7).flow, v6);
  t.is(store.flowByTuple(tupleKey('10.66.0.2', 40000, '10.66.0.1', 80)), first);
  t.is(store.flowByTuple(tupleKey('fe80::2', 40000, 'fe80::1', 80)), v6);
  t.is(store.flowByTuple(tupleKey('10.66.0.1', 80, '10.66.0.2', 40000)), undefined, 'the client is the side that sent the SYN');
  t.is(store.flowByTuple('not a tuple'), undefined);
  t.is(store.flow(first.id), first);
  t.is(store.flow(v6.id), v6);
  for (const bad of ['', 'f', 'f0', `f0${first.num}`, `g${first.num}`, `f${first.num} `, 'f99999999999999999999']) t.is(store.flow(bad), undefined, bad);
  // The old connection closes; a new SYN on the same ports is a new flow, found from then on.
  send('10.66.0.2', '10.66.0.1', 40000, 80, 'R', 101);
  const second = send('10.66.0.2', '10.66.0.1', 40000, 80, 'S', 5000).flow!;
  t.not(second, first);
  t.false(first.current);
  t.true(second.current);
  t.is(send('10.66.0.1', '10.66.0.2', 80, 40000, 'SA', 77).flow, second);
  t.is(store.flowByTuple(tupleKey('10.66.0.2', 40000, '10.66.0.1', 80)), second);
  store.clear();
  t.is(store.flowByTuple(tupleKey('10.66.0.2', 40000, '10.66.0.1', 80)), undefined);
  t.is(store.flow(second.id), undefined);
});
