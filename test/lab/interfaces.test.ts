// The overview's interface rows: counters from /proc/net/dev agree with the kernel's per-interface
// sysfs counters, rates are per second between samples, and the rarely changing attributes are read
// once per ATTRIBUTES_MS rather than every second.
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import { ATTRIBUTES_MS, type Attributes, type DevCounters, InterfaceSampler, parseNetDev } from '../../core/lab/interfaces.js';

const sys = (name: string, key: string): number => Number(readFileSync(`/sys/class/net/${name}/statistics/${key}`, 'utf8'));

test('parseNetDev reads the same counters as sysfs for every interface of this machine', (t) => {
  const before = new Map<string, number[]>();
  const keys = ['rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets', 'rx_errors', 'tx_errors'];
  const all = parseNetDev(readFileSync('/proc/net/dev', 'latin1'));
  t.true(all.has('lo'), [...all.keys()].join(' '));
  for (const name of all.keys())
    before.set(
      name,
      keys.map((k) => sys(name, k)),
    );
  const now = parseNetDev(readFileSync('/proc/net/dev', 'latin1'));
  for (const [name, c] of now) {
    const after = keys.map((k) => sys(name, k));
    const got = [c.rx.bytes, c.rx.packets, c.tx.bytes, c.tx.packets, c.rx.errors, c.tx.errors];
    const b = before.get(name);
    if (!b) continue;
    // Read between the two sysfs readings: never below the first, never above the second.
    got.forEach((v, i) => t.true(b[i] <= v && v <= after[i], `${name} ${keys[i]}: ${b[i]} <= ${v} <= ${after[i]}`));
  }
});

const dev = (bytes: number, packets: number): DevCounters => ({
  rx: { bytes, packets, errors: 0, drops: 0 },
  tx: { bytes: bytes * 2, packets, errors: 1, drops: 2 },
});

test('property: parseNetDev gives back what the kernel format says, and never throws on any text', (t) => {
  const counter = fc.nat({ max: Number.MAX_SAFE_INTEGER });
  const iface = fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,14}$/),
    n: fc.array(counter, { minLength: 16, maxLength: 16 }),
  });
  fc.assert(
    fc.property(fc.uniqueArray(iface, { selector: (i) => i.name, maxLength: 40 }), (ifaces) => {
      const text =
        'Inter-|   Receive                                                |  Transmit\n' +
        ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
        ifaces.map((i) => `${i.name.padStart(6)}: ${i.n.join(' ')}`).join('\n') +
        '\n';
      const parsed = parseNetDev(text);
      const want = ifaces.slice(0, 32);
      if (parsed.size !== want.length) return false;
      return want.every((i) => {
        const c = parsed.get(i.name);
        return (
          c?.rx.bytes === i.n[0] &&
          c.rx.packets === i.n[1] &&
          c.rx.drops === i.n[3] &&
          c.tx.bytes === i.n[8] &&
          c.tx.errors === i.n[10] &&
          c.tx.drops === i.n[11]
        );
      });
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 2000 }), (text) => {
      const parsed = parseNetDev(text);
      return parsed.size <= 32 && [...parsed.values()].every((c) => Number.isSafeInteger(c.rx.bytes) && c.rx.bytes >= 0);
    }),
  );
  t.is(
    parseNetDev('  eth0: 1 2 3\n lo: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\nbad/name: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n').size,
    0,
    'short, negative and bad names are skipped',
  );
});

test('rates are per second between samples; MAC, MTU and link state are read once per ATTRIBUTES_MS, and at once for a new interface', (t) => {
  let counters = new Map([['lo', dev(1000, 10)]]);
  const reads: string[] = [];
  const attrs = (name: string, now: number): Attributes => {
    reads.push(name);
    return { at: now, mac: '00:00:00:00:00:00', mtu: 65536, state: 'unknown', carrier: 1, speed: undefined };
  };
  const sampler = new InterfaceSampler(() => counters, attrs);
  const t0 = 1_000_000;
  const first = sampler.sample(t0);
  t.deepEqual(
    first.map((r) => [r.name, r.rxRate.bytes, r.mtu, r.carrier]),
    [['lo', 0, 65536, true]],
  );
  counters = new Map([
    ['lo', dev(3000, 14)],
    ['veth0', dev(5, 1)],
  ]);
  const second = sampler.sample(t0 + 2000);
  t.deepEqual(
    second.map((r) => [r.name, r.rxRate.bytes, r.rxRate.packets, r.txRate.bytes]),
    [
      ['lo', 1000, 2, 2000],
      ['veth0', 0, 0, 0],
    ],
  );
  t.deepEqual(reads, ['lo', 'veth0'], 'lo was not read again within ATTRIBUTES_MS; the new veth0 was');
  sampler.sample(t0 + ATTRIBUTES_MS);
  t.deepEqual(reads, ['lo', 'veth0', 'lo'], 'lo again after ATTRIBUTES_MS');
  counters = new Map([['lo', dev(3000, 14)]]);
  t.deepEqual(
    sampler.sample(t0 + ATTRIBUTES_MS + 1000).map((r) => r.name),
    ['lo'],
    'an interface that went away is gone',
  );
});

test('on this machine: lo first, with its MTU and state, and its counters move with traffic', async (t) => {
  const sampler = new InterfaceSampler();
  const t0 = Date.now();
  const first = sampler.sample(t0);
  t.is(first[0].name, 'lo');
  t.is(first[0].mtu, Number(readFileSync('/sys/class/net/lo/mtu', 'utf8')));
  t.is(first[0].state, readFileSync('/sys/class/net/lo/operstate', 'utf8').trim());
  t.true(first[0].addresses.some((a) => a.address === '127.0.0.1' && a.prefix === 8));
  // 64 KB over loopback between the samples.
  const server = createServer((s) => s.resume().on('end', () => s.end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(Buffer.alloc(65536)));
    socket
      .on('error', reject)
      .resume()
      .on('close', () => resolve());
  });
  await new Promise<void>((r) => server.close(() => r()));
  const second = sampler.sample(t0 + 1000);
  t.true(second[0].rx.bytes - first[0].rx.bytes >= 65536, `${first[0].rx.bytes} -> ${second[0].rx.bytes}`);
  t.true(second[0].rxRate.bytes >= 65536);
});
