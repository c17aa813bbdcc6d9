// DHCP ACKs on a filling disk, against the real `labnet start --only dhcp` whose data directory is a
// small tmpfs in a private mount namespace (small-disk.ts): a lease is ACKed only once its record is
// completely on disk; when the disk is full the client gets no answer (RFC 2131 allows silence; a NAK
// would take a renewing client's address away); after a kill -9 and a restart every ACKed lease is
// there and no lease that was not ACKed is; once space is freed, ACKs resume.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { decodeRecord } from '../../services/dhcp/lease-journal.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { NetnsFixture, isRoot, type ClientLink } from './netns-fixture.js';
import type { ClientSpec, StepSpec } from './packet-client.js';
import { SmallDisk } from './small-disk.js';

const PREFIX = '10.67.0';
const PACKET_CLIENT = join(PROJECT_ROOT, 'build', 'test', 'dhcp', 'packet-client.js');
const hex = (ip: string): string => Buffer.from(ip.split('.').map(Number)).toString('hex');

interface Reply {
  fields: { yiaddr: string; chaddr: string; xid: string; options: Record<string, unknown> };
}

async function send(fx: NetnsFixture, link: ClientLink, steps: StepSpec[]): Promise<Reply[]> {
  const spec: ClientSpec = { ifname: link.name, steps };
  const r = await fx.run(fx.clientNs, [process.execPath, PACKET_CLIENT, JSON.stringify(spec)], 60_000);
  if (r.code !== 0) throw new Error(`packet-client failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { replies: Reply[][] }).replies.flat();
}

const mac = (i: number): string => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const sid = { 54: hex(`${PREFIX}.1`) };

/** DISCOVER for each client, then REQUEST (selecting) for what was offered; returns mac -> ACKed address. */
async function lease(fx: NetnsFixture, link: ClientLink, clients: number[]): Promise<{ offered: Map<string, string>; acked: Map<string, string> }> {
  const discover = clients.map((i, n) => ({ packet: { type: 1, xid: 0x10000 + i, mac: mac(i) }, waitMs: n === clients.length - 1 ? 1500 : 2 }));
  const offered = new Map<string, string>();
  for (const r of await send(fx, link, discover)) if (r.fields.options.messageType === 'DHCPOFFER') offered.set(r.fields.chaddr, r.fields.yiaddr);
  return { offered, acked: await request(fx, link, clients, offered) };
}

async function request(fx: NetnsFixture, link: ClientLink, clients: number[], offered: Map<string, string>): Promise<Map<string, string>> {
  const steps: StepSpec[] = clients
    .filter((i) => offered.has(mac(i)))
    .map((i) => ({ packet: { type: 3, xid: 0x20000 + i, mac: mac(i), options: { 50: hex(offered.get(mac(i))!), ...sid } }, waitMs: 0 }));
  steps.push({ packet: { type: 1, xid: 0x2ffff, mac: mac(0xfff) }, waitMs: 2000 });
  const acked = new Map<string, string>();
  for (const r of await send(fx, link, steps)) if (r.fields.options.messageType === 'DHCPACK') acked.set(r.fields.chaddr, r.fields.yiaddr);
  return acked;
}

test.serial('a full disk: no ACK without a complete record; after kill -9 and restart every ACKed lease is there and nothing else', async (t) => {
  if (!isRoot()) return t.pass('needs root (network and mount namespaces)');
  const fx = new NetnsFixture(PREFIX);
  const disk = await SmallDisk.create(fx.path('disk'), '32k');
  try {
    const link = fx.addLink();
    const config = fx.path('full.yaml');
    writeFileSync(
      config,
      stringify({
        dataDir: join(disk.mountpoint, 'data'),
        limits: { shutdownGraceMs: 1000 },
        services: { dhcp: { interface: fx.bridge, probeMs: 300, subnet: `${PREFIX}.0/24`, range: [`${PREFIX}.10`, `${PREFIX}.250`] } },
      }),
    );
    const journalPath = disk.path(join(disk.mountpoint, 'data', 'dhcp', 'leases.journal'));
    let lab = await fx.startLab(config, { wrap: disk.wrap() });
    try {
      const first = await lease(fx, link, [1, 2, 3]);
      t.is(first.acked.size, 3);
      disk.fill();
      // 80 clients at once: their records (about 110 bytes each) overrun what is left of the journal's page.
      const many = Array.from({ length: 80 }, (_, i) => 100 + i);
      const second = await lease(fx, link, many);
      t.is(second.offered.size, 80, 'OFFERs need no disk');
      const notAcked = many.filter((i) => !second.acked.has(mac(i)));
      t.true(notAcked.length >= 2, 'the disk filled up');
      t.true(second.acked.size > 0, 'what fitted was ACKed');
      await lab.waitForLog(/lease journal \S+ cannot be written: the disk is full \(ENOSPC\)\. No lease is ACKed until it can be/);
      // Space is freed: half of the clients that got nothing ask again and are ACKed now; the rest never ask.
      disk.free();
      const retried = notAcked.slice(0, Math.ceil(notAcked.length / 2));
      const third = await request(fx, link, retried, second.offered);
      t.is(third.size, retried.length, 'ACKs resume once there is space');
      const acked = new Map([...first.acked, ...second.acked, ...third]);
      const never = notAcked.filter((i) => !third.has(mac(i))).map(mac);
      await lab.kill();
      // The journal: every line readable, every ACKed lease bound to its address, no other client bound.
      const bound = new Map<string, string>();
      const lines = readFileSync(journalPath, 'utf8').split('\n').filter(Boolean);
      for (const line of lines) {
        const r = decodeRecord(line);
        t.truthy(r, `readable: ${line}`);
        if (r?.state === 'bound') bound.set(r.mac, `${r.ip >>> 24}.${(r.ip >>> 16) & 255}.${(r.ip >>> 8) & 255}.${r.ip & 255}`);
      }
      for (const [m, ip] of acked) t.is(bound.get(m), ip, `ACKed lease of ${m} recorded`);
      t.is(bound.size, acked.size, 'no lease that was not ACKed is recorded');
      for (const m of never) t.false(bound.has(m));
      // Restarted (the disk stays as it is): the leases are restored, and clients are told what the journal says.
      lab = await fx.startLab(config, { wrap: disk.wrap() });
      await lab.waitForLog(new RegExp(`${acked.size} leases restored`));
      t.notRegex(lab.stdout(), /unreadable record/);
      const [someAcked] = [...acked];
      const check = await send(fx, link, [
        { packet: { type: 3, xid: 0x30001, mac: someAcked[0], options: { 50: hex(someAcked[1]) } }, waitMs: 1000 },
        { packet: { type: 3, xid: 0x30002, mac: never[0], options: { 50: hex(second.offered.get(never[0])!) } }, waitMs: 1500 },
      ]);
      t.is(check.find((r) => r.fields.chaddr === someAcked[0])?.fields.options.messageType, 'DHCPACK', 'an ACKed client keeps its lease');
      t.is(check.filter((r) => r.fields.chaddr === never[0]).length, 0, 'a client that was never ACKed is unknown (RFC 2131 4.3.2: silence)');
    } finally {
      await lab.kill();
    }
  } finally {
    disk.stop();
    await fx.destroy();
  }
});
