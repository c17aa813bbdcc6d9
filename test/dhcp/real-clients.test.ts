// Real DHCP clients (busybox udhcpc, ISC dhclient, dhcpcd) against the real `labnet start --only dhcp`
// across a veth pair between two network namespaces this test creates (root only; CI runs as root).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsFixture, namespaceExists } from './netns-fixture.js';
import { dhclientFiles, dhclientLease, dhclientRelease, dhcpcdOnce, udhcpcDaemon, udhcpcOnce, writeDhclientLease } from './clients.js';

const PREFIX = '10.61.0';
const BASE = {
  subnet: `${PREFIX}.0/24`,
  range: [`${PREFIX}.100`, `${PREFIX}.140`],
  router: `${PREFIX}.1`,
  dns: [`${PREFIX}.53`, `${PREFIX}.54`],
  domain: 'students.lab.test',
  leaseSeconds: 600,
};

async function withLab<T>(
  dhcp: Record<string, unknown>,
  body: (fx: NetnsFixture, lab: Awaited<ReturnType<NetnsFixture['startLab']>>) => Promise<T>,
): Promise<T> {
  const fx = new NetnsFixture(PREFIX);
  try {
    const lab = await fx.startLab(fx.writeLabConfig({ ...BASE, ...dhcp }));
    try {
      return await body(fx, lab);
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
}

test.serial('udhcpc gets a lease with mask, router, DNS and domain; renew keeps the address; release frees it', async (t) => {
  await withLab({}, async (fx, lab) => {
    const link = fx.addLink();
    const client = await udhcpcDaemon(fx, link, 'udhcpc');
    try {
      const bound = await client.waitEvent('bound');
      t.is(bound.ip, `${PREFIX}.100`);
      t.is(bound.subnet, '255.255.255.0');
      t.is(bound.router, `${PREFIX}.1`);
      t.is(bound.dns.trim(), `${PREFIX}.53 ${PREFIX}.54`);
      t.is(bound.domain, 'students.lab.test');
      t.is(bound.serverid, `${PREFIX}.1`);
      t.is(bound.lease, '600');
      // RENEWING: a unicast REQUEST with ciaddr, answered by unicast to ciaddr.
      client.proc.kill('SIGUSR1');
      const renewed = await client.waitEvent('renew');
      t.is(renewed.ip, bound.ip);
      await lab.waitForLog(/<- 10\.61\.0\.100:68 DHCPREQUEST[^\n]*ciaddr=10\.61\.0\.100/);
      await lab.waitForLog(/-> 10\.61\.0\.100:68 DHCPACK/);
      // Release: the address goes back to the pool.
      client.proc.kill('SIGUSR2');
      await lab.waitForLog(/DHCPRELEASE[^\n]*ciaddr=10\.61\.0\.100/);
      await lab.waitForLog(/10\.61\.0\.100 released/);
    } finally {
      await client.stop();
    }
    t.is(lab.proc.exitCode, null, 'labnet still running');
  });
});

test.serial('a released address is free again; an exhausted pool answers nothing and warns', async (t) => {
  await withLab({ range: [`${PREFIX}.100`, `${PREFIX}.100`] }, async (fx, lab) => {
    const a = fx.addLink();
    const b = fx.addLink();
    const clientA = await udhcpcDaemon(fx, a, 'a');
    try {
      t.is((await clientA.waitEvent('bound')).ip, `${PREFIX}.100`);
      // The only address is leased to A: B gets nothing and labnet warns.
      const first = await udhcpcOnce(fx, b, { tag: 'b1' });
      t.not(first.run.code, 0);
      t.false(first.events.some((e) => e.event === 'bound'));
      await lab.waitForLog(/pool exhausted/);
      clientA.proc.kill('SIGUSR2');
      await lab.waitForLog(/10\.61\.0\.100 released/);
    } finally {
      await clientA.stop();
    }
    const second = await udhcpcOnce(fx, b, { tag: 'b2' });
    t.is(second.events.find((e) => e.event === 'bound')?.ip, `${PREFIX}.100`);
  });
});

test.serial('ISC dhclient gets a lease with mask, router, DNS and domain, and releases it', async (t) => {
  await withLab({}, async (fx, lab) => {
    const link = fx.addLink();
    const files = dhclientFiles(fx, 'dhclient');
    const { event, stderr } = await dhclientLease(fx, link, files);
    t.truthy(event, stderr);
    t.is(event!.ip, `${PREFIX}.100`);
    t.is(event!.subnet, '255.255.255.0');
    t.is(event!.router, `${PREFIX}.1`);
    t.is(event!.dns, `${PREFIX}.53 ${PREFIX}.54`);
    t.is(event!.domain, 'students.lab.test');
    t.regex(stderr, /DHCPACK of 10\.61\.0\.100 from 10\.61\.0\.1/);
    // dhclient is keyed by chaddr (no option 61).
    await lab.waitForLog(/DHCPREQUEST[^\n]*requested=10\.61\.0\.100/);
    const rel = await dhclientRelease(fx, link, files);
    t.is(rel.code, 0, rel.stderr);
    await lab.waitForLog(/10\.61\.0\.100 released/);
  });
});

test.serial('dhcpcd gets a lease with mask, router, DNS and domain', async (t) => {
  await withLab({}, async (fx) => {
    const link = fx.addLink();
    const { run, events } = await dhcpcdOnce(fx, link, 'dhcpcd');
    const bound = events.find((e) => e.event === 'BOUND');
    t.truthy(bound, `${run.stderr}\n${JSON.stringify(events)}`);
    t.is(bound!.ip, `${PREFIX}.100`);
    t.is(bound!.subnet, '255.255.255.0');
    t.is(bound!.router, `${PREFIX}.1`);
    t.is(bound!.dns, `${PREFIX}.53 ${PREFIX}.54`);
    t.is(bound!.domain, 'students.lab.test');
    t.is(bound!.serverid, `${PREFIX}.1`);
  });
});

test.serial('a second client gets a different address; a reservation gives its fixed address and host name', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  try {
    const a = fx.addLink();
    const b = fx.addLink();
    const r = fx.addLink();
    const lab = await fx.startLab(fx.writeLabConfig({ ...BASE, reservations: [{ mac: r.mac.toUpperCase(), ip: `${PREFIX}.20`, hostname: 'teacher' }] }));
    try {
      const first = await udhcpcOnce(fx, a, { tag: 'a' });
      const second = await udhcpcOnce(fx, b, { tag: 'b' });
      const ipA = first.events.find((e) => e.event === 'bound')?.ip;
      const ipB = second.events.find((e) => e.event === 'bound')?.ip;
      t.truthy(ipA);
      t.truthy(ipB);
      t.not(ipA, ipB);
      const reserved = await udhcpcOnce(fx, r, { tag: 'r' });
      const bound = reserved.events.find((e) => e.event === 'bound');
      t.is(bound?.ip, `${PREFIX}.20`);
      t.is(bound?.hostname, 'teacher');
      // The reserved address is not in the pool, but the reserved client may ask for it again.
      const again = await udhcpcOnce(fx, r, { tag: 'r2', requestIp: `${PREFIX}.20` });
      t.is(again.events.find((e) => e.event === 'bound')?.ip, `${PREFIX}.20`);
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
});

test.serial('a requested address on DISCOVER is honoured when free', async (t) => {
  await withLab({}, async (fx) => {
    const link = fx.addLink();
    const { events } = await udhcpcOnce(fx, link, { tag: 'req', requestIp: `${PREFIX}.123` });
    t.is(events.find((e) => e.event === 'bound')?.ip, `${PREFIX}.123`);
  });
});

test.serial('dhclient rebooting (INIT-REBOOT) with an address on another network gets a NAK, then a pool address', async (t) => {
  await withLab({}, async (fx, lab) => {
    const link = fx.addLink();
    const files = dhclientFiles(fx, 'outside-subnet');
    writeDhclientLease(files, link.name, '10.99.0.5', `${PREFIX}.1`);
    const { event, stderr } = await dhclientLease(fx, link, files);
    t.regex(stderr, /DHCPNAK from 10\.61\.0\.1/, stderr);
    t.regex(lab.stdout(), /DHCPREQUEST[^\n]*requested=10\.99\.0\.5/);
    t.truthy(event, stderr);
    t.regex(event!.ip, /^10\.61\.0\.1[0-4]\d$/);
  });
});

test.serial('dhclient rebooting with an address it never leased here gets no answer (RFC 2131 4.3.2), then a pool address; authoritative: a NAK', async (t) => {
  for (const authoritative of [false, true]) {
    await withLab({ authoritative }, async (fx, lab) => {
      const link = fx.addLink();
      const files = dhclientFiles(fx, `never-${authoritative}`);
      writeDhclientLease(files, link.name, `${PREFIX}.120`, `${PREFIX}.1`);
      // `reboot 3`: give up on the old address after 3 s instead of 10 (dhclient.conf(5)).
      const { event, stderr } = await dhclientLease(fx, link, files, 40_000, 'reboot 3;\n');
      t.regex(lab.stdout(), /DHCPREQUEST[^\n]*requested=10\.61\.0\.120/);
      if (authoritative) t.regex(stderr, /DHCPREQUEST for 10\.61\.0\.120[^\n]*\nDHCPNAK from 10\.61\.0\.1/, stderr);
      else {
        // The INIT-REBOOT REQUEST(s) got nothing; dhclient gave up on them and started over with DISCOVER.
        t.regex(stderr, /DHCPREQUEST for 10\.61\.0\.120[^\n]*\n(DHCPREQUEST for 10\.61\.0\.120[^\n]*\n)*DHCPDISCOVER/, stderr);
        t.notRegex(stderr, /DHCPNAK/, stderr);
        await lab.waitForLog(/a client with no lease here: no answer \(RFC 2131 4\.3\.2\)/);
      }
      t.truthy(event, stderr);
      t.is(event!.event, 'BOUND', 'a lease made through DISCOVER, OFFER, REQUEST: not the INIT-REBOOT');
      t.regex(event!.ip, /^10\.61\.0\.1[0-4]\d$/);
      t.regex(lab.stdout(), /DHCPDISCOVER/);
    });
  }
});

test.serial('dhcpcd leases with a client identifier (01+MAC); dhclient reboots without one and keeps the address (ACK, not NAK)', async (t) => {
  await withLab({}, async (fx, lab) => {
    const link = fx.addLink();
    const { run, events } = await dhcpcdOnce(fx, link, 'with-id');
    const ip = events.find((e) => e.event === 'BOUND')?.ip;
    t.truthy(ip, run.stderr);
    const id = `01${link.mac.replace(/:/g, '')}`;
    t.regex(readFileSync(join(fx.dir, 'data', 'dhcp', 'leases.journal'), 'utf8'), new RegExp(`"c":"id:${id}"`), 'dhcpcd sent option 61');
    const files = dhclientFiles(fx, 'without-id');
    writeDhclientLease(files, link.name, ip!, `${PREFIX}.1`);
    const { event, stderr } = await dhclientLease(fx, link, files);
    t.notRegex(stderr, /DHCPNAK/);
    t.regex(stderr, new RegExp(`DHCPACK of ${ip!.replace(/\./g, '\\.')} from 10\\.61\\.0\\.1`));
    t.is(event?.event, 'REBOOT');
    t.is(event?.ip, ip);
    t.notRegex(lab.stdout(), /DHCPNAK/);
  });
});

test.serial('dhclient leases without a client identifier, then reboots with one (01+MAC) and keeps the address', async (t) => {
  await withLab({}, async (fx, lab) => {
    const link = fx.addLink();
    const files = dhclientFiles(fx, 'id-later');
    const first = await dhclientLease(fx, link, files);
    t.is(first.event?.event, 'BOUND', first.stderr);
    const ip = first.event!.ip;
    const again = await dhclientLease(fx, link, files, 30_000, `send dhcp-client-identifier 1:${link.mac};\n`);
    t.notRegex(again.stderr, /DHCPNAK/);
    t.is(again.event?.event, 'REBOOT', again.stderr);
    t.is(again.event?.ip, ip);
    const journal = readFileSync(join(fx.dir, 'data', 'dhcp', 'leases.journal'), 'utf8');
    t.regex(journal, new RegExp(`"c":"id:01${link.mac.replace(/:/g, '')}"`), 'the renewed lease carries the identifier now');
    t.notRegex(lab.stdout(), /DHCPNAK/);
  });
});

test.serial('udhcpc -a finds the offered address in use and DECLINEs it; that address leaves the pool', async (t) => {
  await withLab({}, async (fx, lab) => {
    const link = fx.addLink();
    // Another machine on the LAN already uses .100: a second veth in the client namespace holds it
    // and answers udhcpc's ARP probe.
    const squatter = fx.addLink();
    const run = await fx.run(fx.clientNs, ['ip', 'addr', 'add', `${PREFIX}.100/24`, 'dev', squatter.name]);
    t.is(run.code, 0, run.stderr);
    const { events } = await udhcpcOnce(fx, link, { tag: 'arp', arpCheck: true, timeoutMs: 60_000 });
    await lab.waitForLog(/DHCPDECLINE[^\n]*requested=10\.61\.0\.100/);
    await lab.waitForLog(/10\.61\.0\.100 declined/);
    const bound = events.find((e) => e.event === 'bound');
    t.truthy(bound, JSON.stringify(events));
    t.not(bound!.ip, `${PREFIX}.100`);
    // Nobody gets the declined address, even when asking for it.
    const other = fx.addLink();
    const again = await udhcpcOnce(fx, other, { tag: 'other', requestIp: `${PREFIX}.100` });
    const ip = again.events.find((e) => e.event === 'bound')?.ip;
    t.truthy(ip);
    t.not(ip, `${PREFIX}.100`);
  });
});

for (const how of ['restart', 'kill -9'] as const) {
  test.serial(`after a ${how} the same client gets the same address back`, async (t) => {
    const fx = new NetnsFixture(PREFIX);
    try {
      const a = fx.addLink();
      const b = fx.addLink();
      const config = fx.writeLabConfig(BASE);
      let lab = await fx.startLab(config);
      const firstB = await udhcpcOnce(fx, b, { tag: 'b1' });
      const firstA = await udhcpcOnce(fx, a, { tag: 'a1', extra: ['-x', 'hostname:student-a'] });
      const ipB = firstB.events.find((e) => e.event === 'bound')?.ip;
      const ipA = firstA.events.find((e) => e.event === 'bound')?.ip;
      t.is(ipB, `${PREFIX}.100`);
      t.is(ipA, `${PREFIX}.101`);
      // The client's host name (option 12) is recorded with its lease.
      t.regex(readFileSync(join(fx.dir, 'data', 'dhcp', 'leases.journal'), 'utf8'), /"ip":"10\.61\.0\.101"[^\n]*"h":"student-a"/);
      if (how === 'restart') t.is(await lab.stop(), 0);
      else await lab.kill();
      lab = await fx.startLab(config);
      try {
        // A asks first this time: without the journal it would get .100.
        const againA = await udhcpcOnce(fx, a, { tag: 'a2' });
        t.is(againA.events.find((e) => e.event === 'bound')?.ip, ipA);
        const againB = await udhcpcOnce(fx, b, { tag: 'b2' });
        t.is(againB.events.find((e) => e.event === 'bound')?.ip, ipB);
        t.regex(lab.stdout(), /2 leases restored/);
      } finally {
        await lab.stop();
      }
    } finally {
      await fx.destroy();
    }
  });
}

test.serial('the namespaces and veths are gone after destroy', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  const link = fx.addLink();
  const { serverNs, clientNs } = fx;
  t.true(namespaceExists(serverNs));
  await fx.destroy();
  t.false(namespaceExists(serverNs));
  t.false(namespaceExists(clientNs));
  // The veth ends lived only in our namespaces; none may be left in (or leak into) the host's.
  const hostLinks = JSON.parse(spawnSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }).stdout) as { ifname: string }[];
  t.false(hostLinks.some((l) => l.ifname === link.name || l.ifname === link.peer || l.ifname === fx.bridge));
});
