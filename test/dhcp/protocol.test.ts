// The real labnet process in a namespace, driven by crafted packets (packet-client.ts) where a real
// client can't produce the case: hostile input, NAKs, DECLINE, INFORM, relays, option overload; and
// the start-up safety checks (interface outside the subnet, another DHCP server answering).
import test from 'ava';
import { readFileSync } from 'node:fs';
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

test.serial('INIT-REBOOT REQUESTs: another network gets a broadcast NAK; a client with no record gets silence and nothing is bound', async (t) => {
  await withLab(async (fx, link, lab) => {
    const mac = '02:00:00:00:01:02';
    const replies = await send(fx, link, [
      { packet: { type: 3, xid: 0x2001, mac, options: { 50: hex('192.168.9.9') } }, waitMs: 1500 },
      { packet: { type: 3, xid: 0x2002, mac, options: { 50: hex(`${PREFIX}.250`) } }, waitMs: 1500 },
      { packet: { type: 3, xid: 0x2003, mac, options: { 50: hex(`${PREFIX}.120`) } }, waitMs: 1500 },
    ]);
    t.is(replies[0][0]?.fields.options.messageType, 'DHCPNAK');
    t.is(replies[0][0]?.fields.options.serverId, `${PREFIX}.1`);
    t.is(replies[0][0]?.fields.yiaddr, '0.0.0.0');
    t.regex(String(replies[0][0].fields.options.message), /not on this network/);
    // RFC 2131 4.3.2: "If the DHCP server has no record of this client, then it MUST remain silent".
    t.is(replies[1].length, 0, 'outside the pool, no record: silence');
    t.is(replies[2].length, 0, 'a free pool address, no record: silence, not a lease');
    await lab.waitForLog(/REQUEST for 10\.62\.0\.120 from 02:00:00:00:01:02, a client with no lease here: no answer \(RFC 2131 4\.3\.2\)/);
    // Nothing was bound: the first DISCOVER of another client still gets .100, and .120 is in no lease record.
    const offer = await send(fx, link, [{ packet: { type: 1, xid: 0x2004, mac: '02:00:00:00:01:09' }, waitMs: 1500 }]);
    t.is(offer[0][0]?.fields.yiaddr, `${PREFIX}.100`);
    t.notRegex(readFileSync(join(fx.dir, 'data', 'dhcp', 'leases.journal'), 'utf8'), /10\.62\.0\.120/);
  });
});

test.serial('authoritative: a client with no record gets a NAK at once, never an ACK', async (t) => {
  await withLab(
    async (fx, link) => {
      const mac = '02:00:00:00:01:0a';
      const replies = await send(fx, link, [{ packet: { type: 3, xid: 0x2101, mac, options: { 50: hex(`${PREFIX}.121`) } }, waitMs: 1500 }]);
      t.is(replies[0][0]?.fields.options.messageType, 'DHCPNAK');
      t.regex(String(replies[0][0]?.fields.options.message), /no lease here \(authoritative: NAK\)/);
    },
    { authoritative: true },
  );
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

test.serial(
  'INFORM gets an ACK with options and no lease, unicast to ciaddr, only inside the subnet; relayed requests are answered to giaddr:67',
  async (t) => {
    await withLab(async (fx, link, lab) => {
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
      // An INFORM naming an address outside the subnet would make labnet send a datagram there: none is sent.
      const outside = await send(fx, link, [{ packet: { type: 8, xid: 0x4003, mac: '02:00:00:00:01:08', ciaddr: '10.99.0.77', flags: 0x8000 }, waitMs: 1500 }]);
      t.is(outside[0].length, 0);
      await lab.waitForLog(/INFORM from 10\.99\.0\.77, outside 10\.62\.0\.0\/24/);
    });
  },
);

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

test.serial('refuses to start when no address of the interface is inside the subnet, or no interface is named', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  try {
    await t.throwsAsync(fx.startLab(fx.writeLabConfig({ ...BASE, subnet: '10.63.0.0/24', range: ['10.63.0.100', '10.63.0.140'], router: '10.63.0.1' })), {
      message: /dhcp: interface lb\w+ has no address inside services\.dhcp\.subnet 10\.63\.0\.0\/24 \(it has 10\.62\.0\.1\/24\)/,
    });
    await t.throwsAsync(fx.startLab(fx.writeLabConfig({ ...BASE, interface: '' })), { message: /no interface named/ });
  } finally {
    await fx.destroy();
  }
});

test.serial('an interface with several addresses is served when one of them is inside the subnet (not the first)', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  try {
    const link = fx.addLink();
    // The bridge has 10.62.0.1/24 first (the school network, say) and the lab subnet second.
    const r = await fx.run(fx.serverNs, ['ip', 'addr', 'add', '10.63.0.1/24', 'dev', fx.bridge]);
    t.is(r.code, 0, r.stderr);
    const lab = await fx.startLab(fx.writeLabConfig({ subnet: '10.63.0.0/24', range: ['10.63.0.100', '10.63.0.140'], router: '10.63.0.1' }));
    try {
      t.regex(lab.stdout(), /dhcp\s+dhcp\s+10\.63\.0\.1%lb\w+\s+67\/udp\s+running/);
      const { events } = await udhcpcOnce(fx, link, { tag: 'multi' });
      const bound = events.find((e) => e.event === 'bound');
      t.is(bound?.ip, '10.63.0.100');
      t.is(bound?.serverid, '10.63.0.1', 'the server identifier is the address inside the subnet');
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
});

test.serial('rate limits and pool notices against the real process: a flooding MAC is cut off, the pool warns when nearly full', async (t) => {
  await withLab(
    async (fx, link, lab) => {
      const flooder = '02:00:00:00:03:01';
      const steps: StepSpec[] = Array.from({ length: 12 }, (_, i) => ({ packet: { type: 1, xid: 0x6000 + i, mac: flooder }, waitMs: 10 }));
      steps.push({ packet: { type: 1, xid: 0x6100, mac: '02:00:00:00:03:02' }, waitMs: 1500 });
      const replies = (await send(fx, link, steps)).flat();
      const toFlooder = replies.filter((r) => r.fields.chaddr === flooder);
      t.true(toFlooder.length >= 4 && toFlooder.length <= 5, `${toFlooder.length} answers to the flooding MAC (burst 4, 1/s)`);
      t.is(replies.filter((r) => r.fields.chaddr === '02:00:00:00:03:02').length, 1, 'another client is still answered');
      await lab.waitForLog(/02:00:00:00:03:01 sends more than 1 messages\/s \(services\.dhcp\.rateLimit\.perMacPerSecond\)/);
      // Two clients hold 2 of the 3 addresses (67%): the notice at 60%; a fourth client finds none.
      await lab.waitForLog(/DHCP pool nearly exhausted: 2 of 3 addresses in use \(66%, notice at 60%\)/);
      await send(fx, link, [
        { packet: { type: 1, xid: 0x6200, mac: '02:00:00:00:03:03' }, waitMs: 300 },
        { packet: { type: 1, xid: 0x6201, mac: '02:00:00:00:03:04' }, waitMs: 1000 },
      ]);
      await lab.waitForLog(/DHCP pool exhausted: no address to offer 02:00:00:00:03:04/);
    },
    { range: [`${PREFIX}.100`, `${PREFIX}.102`], poolWarnPercent: 60, rateLimit: { perMacPerSecond: 1, perMacBurst: 4 } },
  );
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
