// The real labnet process in a namespace, driven by crafted packets (packet-client.ts) where a real
// client can't produce the case: hostile input, NAKs, DECLINE, INFORM, relays, option overload; and
// the start-up safety checks (interface outside the subnet, another DHCP server answering).
import test from 'ava';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { NetnsFixture, waitFor, type ClientLink } from './netns-fixture.js';
import { udhcpcOnce } from './clients.js';
import type { ClientSpec, StepSpec } from './packet-client.js';

const PREFIX = '10.62.0';
const BASE = { subnet: `${PREFIX}.0/24`, range: [`${PREFIX}.100`, `${PREFIX}.140`], router: `${PREFIX}.1`, dns: [`${PREFIX}.53`], domain: 'lab.test' };
const PACKET_CLIENT = join(PROJECT_ROOT, 'build', 'test', 'dhcp', 'packet-client.js');

interface Reply {
  from: string;
  port: number;
  length: number;
  fields: { yiaddr: string; ciaddr: string; options: Record<string, unknown>; [k: string]: unknown };
}

async function send(fx: NetnsFixture, link: ClientLink, steps: StepSpec[], extra: Partial<ClientSpec> = {}): Promise<Reply[][]> {
  const spec: ClientSpec = { ifname: link.name, steps, ...extra };
  const r = await fx.run(fx.clientNs, [process.execPath, PACKET_CLIENT, JSON.stringify(spec)], 30_000);
  if (r.code !== 0) throw new Error(`packet-client failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { replies: Reply[][] }).replies;
}

const hex = (ip: string): string => Buffer.from(ip.split('.').map(Number)).toString('hex');

async function withLab(
  body: (fx: NetnsFixture, link: ClientLink, lab: Awaited<ReturnType<NetnsFixture['startLab']>>) => Promise<void>,
  dhcp: Record<string, unknown> = {},
): Promise<void> {
  const fx = new NetnsFixture(PREFIX);
  try {
    const link = fx.addLink();
    const lab = await fx.startLab(fx.writeLabConfig({ ...BASE, ...dhcp }));
    try {
      await body(fx, link, lab);
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
}

test.serial('hostile datagrams are dropped with a debug log and the server keeps answering', async (t) => {
  await withLab(async (fx, link, lab) => {
    const mac = '02:00:00:00:01:01';
    const valid = { type: 1, xid: 0x1001, mac };
    const replies = await send(fx, link, [
      { hex: 'deadbeef', waitMs: 100 },
      { hex: '01010600' + '00'.repeat(232) + 'deadbeef' + '350101ff', waitMs: 100 },
      { hex: '01011100' + '00'.repeat(232) + '63825363' + '350101ff', waitMs: 100 },
      { hex: '01010600' + '00'.repeat(232) + '63825363' + '3501010c28', waitMs: 100 },
      { packet: { ...valid, op: 2 }, waitMs: 300 },
      { packet: valid, waitMs: 1500 },
    ]);
    t.deepEqual(
      replies.slice(0, 5).map((r) => r.length),
      [0, 0, 0, 0, 0],
    );
    t.is(replies[5].length, 1);
    t.is(replies[5][0].fields.options.messageType, 'DHCPOFFER');
    t.true(replies[5][0].length >= 300, 'replies are padded to at least 300 octets');
    for (const re of [/truncated packet/, /wrong magic cookie/, /hardware address length 17/, /runs past the end/, /not BOOTREQUEST/]) await lab.waitForLog(re);
    t.is(lab.proc.exitCode, null);
  });
});

test.serial('REQUESTs for an address outside the subnet or the pool get a broadcast NAK', async (t) => {
  await withLab(async (fx, link) => {
    const mac = '02:00:00:00:01:02';
    const replies = await send(fx, link, [
      { packet: { type: 3, xid: 0x2001, mac, options: { 50: hex('192.168.9.9') } }, waitMs: 1500 },
      { packet: { type: 3, xid: 0x2002, mac, options: { 50: hex(`${PREFIX}.250`) } }, waitMs: 1500 },
      { packet: { type: 3, xid: 0x2003, mac, options: { 50: hex(`${PREFIX}.120`) } }, waitMs: 1500 },
    ]);
    for (const r of replies.slice(0, 2)) {
      t.is(r[0]?.fields.options.messageType, 'DHCPNAK');
      t.is(r[0]?.fields.options.serverId, `${PREFIX}.1`);
      t.is(r[0]?.fields.yiaddr, '0.0.0.0');
    }
    t.regex(String(replies[0][0].fields.options.message), /not on this network/);
    // A free pool address in INIT-REBOOT is granted (labnet is authoritative for its pool).
    t.is(replies[2][0]?.fields.options.messageType, 'DHCPACK');
    t.is(replies[2][0]?.fields.yiaddr, `${PREFIX}.120`);
  });
});

test.serial('a crafted DECLINE takes the address out of the pool; REQUEST for another server withdraws the offer', async (t) => {
  await withLab(
    async (fx, link, lab) => {
      const a = '02:00:00:00:01:03';
      const b = '02:00:00:00:01:04';
      const sid = { 54: hex(`${PREFIX}.1`) };
      const replies = await send(fx, link, [
        { packet: { type: 1, xid: 0x3001, mac: a }, waitMs: 1000 },
        { packet: { type: 3, xid: 0x3001, mac: a, options: { 50: hex(`${PREFIX}.100`), ...sid } }, waitMs: 1000 },
        { packet: { type: 4, xid: 0x3002, mac: a, options: { 50: hex(`${PREFIX}.100`), ...sid } }, waitMs: 300 },
        { packet: { type: 1, xid: 0x3003, mac: b, options: { 50: hex(`${PREFIX}.100`) } }, waitMs: 1000 },
        // b picks another server: its offer (.101) is withdrawn and nothing is sent.
        { packet: { type: 3, xid: 0x3003, mac: b, options: { 50: hex(`${PREFIX}.101`), 54: hex(`${PREFIX}.9`) } }, waitMs: 1000 },
        { packet: { type: 1, xid: 0x3004, mac: '02:00:00:00:01:05' }, waitMs: 1000 },
      ]);
      t.is(replies[1][0]?.fields.options.messageType, 'DHCPACK');
      t.is(replies[2].length, 0);
      t.is(replies[3][0]?.fields.options.messageType, 'DHCPOFFER');
      t.is(replies[3][0]?.fields.yiaddr, `${PREFIX}.101`, 'the declined address is not offered even when requested');
      t.is(replies[4].length, 0);
      t.is(replies[5][0]?.fields.yiaddr, `${PREFIX}.101`, 'the withdrawn offer is free again (the only address left)');
      await lab.waitForLog(/10\.62\.0\.100 declined/);
    },
    { range: [`${PREFIX}.100`, `${PREFIX}.101`] },
  );
});

test.serial('INFORM gets an ACK with options and no lease, unicast to ciaddr; relayed requests are answered to giaddr:67', async (t) => {
  await withLab(async (fx, link) => {
    const r = await fx.run(fx.clientNs, ['ip', 'addr', 'add', `${PREFIX}.77/24`, 'dev', link.name]);
    t.is(r.code, 0, r.stderr);
    const inform = await send(fx, link, [
      { packet: { type: 8, xid: 0x4001, mac: '02:00:00:00:01:06', ciaddr: `${PREFIX}.77`, flags: 0, options: { 55: '01030f06' } }, waitMs: 1500 },
    ]);
    const ack = inform[0][0];
    t.is(ack.fields.options.messageType, 'DHCPACK');
    t.is(ack.fields.yiaddr, '0.0.0.0');
    t.false('leaseTime' in ack.fields.options);
    t.deepEqual(Object.keys(ack.fields.options).slice(0, 5), ['messageType', 'subnetMask', 'router', 'domainName', 'dnsServers']);
    // A relay agent at .77 listening on port 67.
    const relayed = await send(
      fx,
      link,
      [{ packet: { type: 1, xid: 0x4002, mac: '02:00:00:00:01:07', giaddr: `${PREFIX}.77`, flags: 0 }, to: `${PREFIX}.1`, waitMs: 1500 }],
      { port: 67, bindAddress: `${PREFIX}.77` },
    );
    t.is(relayed[0][0]?.fields.options.messageType, 'DHCPOFFER');
    t.is(relayed[0][0]?.port, 67);
    t.is(relayed[0][0]?.fields.giaddr, `${PREFIX}.77`);
  });
});

test.serial('a requested address carried in the file field (option overload) is honoured', async (t) => {
  await withLab(async (fx, link) => {
    // Header, then file = [50 len 4 addr, end], options = [53 DISCOVER, 52 overload=1, end].
    const header = '01010600' + '00004005' + '0000' + '0000' + '00'.repeat(16) + '020000000108' + '00'.repeat(10) + '00'.repeat(64);
    const file = `3204${hex(`${PREFIX}.130`)}ff`.padEnd(256, '0');
    const replies = await send(fx, link, [{ hex: `${header}${file}63825363350101340101ff`, waitMs: 1500 }]);
    t.is(replies[0][0]?.fields.options.messageType, 'DHCPOFFER');
    t.is(replies[0][0]?.fields.yiaddr, `${PREFIX}.130`);
  });
});

test.serial('serves only the named interface: a DISCOVER arriving on another interface gets no answer', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  try {
    const lan = fx.addLink();
    const school = fx.addOtherNetwork('172.31.0.1/24');
    const lab = await fx.startLab(fx.writeLabConfig(BASE));
    try {
      const other = await send(fx, school, [{ packet: { type: 1, xid: 0x5001, mac: '02:00:00:00:02:01' }, waitMs: 2000 }]);
      t.is(other[0].length, 0);
      t.notRegex(lab.stdout(), /xid=0x00005001/, 'the datagram never reached labnet');
      const mine = await send(fx, lan, [{ packet: { type: 1, xid: 0x5002, mac: '02:00:00:00:02:02' }, waitMs: 1500 }]);
      t.is(mine[0][0]?.fields.options.messageType, 'DHCPOFFER');
      t.regex(lab.stdout(), /xid=0x00005002/);
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
});

test.serial('refuses to start when the interface address is not inside the subnet, or no interface is named', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  try {
    await t.throwsAsync(fx.startLab(fx.writeLabConfig({ ...BASE, subnet: '10.63.0.0/24', range: ['10.63.0.100', '10.63.0.140'], router: '10.63.0.1' })), {
      message: /dhcp: interface lb\w+ has address 10\.62\.0\.1, which is not inside services\.dhcp\.subnet 10\.63\.0\.0\/24/,
    });
    await t.throwsAsync(fx.startLab(fx.writeLabConfig({ ...BASE, interface: '' })), { message: /no interface named/ });
  } finally {
    await fx.destroy();
  }
});

test.serial('--dhcp-interface turns DHCP on with the default config', async (t) => {
  const fx = new NetnsFixture('192.168.50');
  try {
    const link = fx.addLink();
    const lab = await fx.startLab(fx.writeLabConfig({ interface: '' }), { args: ['--dhcp-interface', fx.bridge] });
    try {
      const { events } = await udhcpcOnce(fx, link, { tag: 'default' });
      const bound = events.find((e) => e.event === 'bound');
      t.is(bound?.ip, '192.168.50.100');
      t.is(bound?.domain, 'lab.test');
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
});

test.serial('refuses to start, naming the other server, when another DHCP server answers; --dhcp-force overrides', async (t) => {
  await withLab(async (fx, link, lab) => {
    // A second labnet on the client side of the same LAN.
    const r = await fx.run(fx.clientNs, ['ip', 'addr', 'add', `${PREFIX}.2/24`, 'dev', link.name]);
    t.is(r.code, 0, r.stderr);
    const second = fx.writeLabConfig({ ...BASE, interface: link.name, probeMs: 1500 }, 'second.yaml');
    const err = await t.throwsAsync(fx.startLab(second, { ns: fx.clientNs }));
    t.regex(err.message, /another DHCP server answers on lc\w+: 10\.62\.0\.1 offered 10\.62\.0\.1\d\d/);
    t.regex(err.message, /--dhcp-force/);
    // Port 68 held by a DHCP client without SO_REUSEADDR: the probe asks as a relay agent instead.
    const holder = fx.spawnIn(fx.clientNs, [
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').bind(68, () => console.log('bound')); setTimeout(() => {}, 60000)",
    ]);
    let held = '';
    holder.stdout!.on('data', (d: Buffer) => (held += d.toString()));
    t.true(await waitFor(() => held.includes('bound'), 10_000), 'the port-68 holder is up');
    const relayed = await t.throwsAsync(fx.startLab(second, { ns: fx.clientNs }));
    t.regex(relayed.message, /another DHCP server answers on lc\w+: 10\.62\.0\.1 offered 10\.62\.0\.1\d\d/);
    await lab.waitForLog(/DHCPDISCOVER[^\n]*giaddr=10\.62\.0\.2/);
    await lab.waitForLog(/-> 10\.62\.0\.2:67 DHCPOFFER/);
    holder.kill('SIGKILL');
    const forced = await fx.startLab(second, { ns: fx.clientNs, args: ['--dhcp-force'] });
    t.regex(forced.stdout(), /dhcp\s+dhcp\s+10\.62\.0\.2%lc\w+\s+67\/udp\s+running/);
    t.is(await forced.stop(), 0);
  });
});
