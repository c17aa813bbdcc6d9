// The lab DNS on a real (namespaced) lab LAN, as a student's machine uses it (root only; CI runs as
// root): labnet serves DHCP and DNS on port 53 in the server namespace; a client namespace gets a lease
// from busybox udhcpc with its host name (option 12), is told the lab DNS by DHCP (option 6), and,
// with that server in its own /etc/netns/<ns>/resolv.conf (what `ip netns exec` mounts over
// /etc/resolv.conf), resolves lab names through glibc (`getent hosts`). Also: a stub resolver holding
// 127.0.0.53:53 makes labnet bind its own addresses one by one instead of failing.
import test from 'ava';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { NetnsFixture } from '../dhcp/netns-fixture.js';
import { readEvents, udhcpcOnce, udhcpcScript } from '../dhcp/clients.js';
import { waitFor } from '../dhcp/netns-fixture.js';

const PREFIX = '10.62.0';

function labConfig(fx: NetnsFixture, services: Record<string, unknown>, name = 'labnet.yaml'): string {
  const path = join(fx.dir, name);
  writeFileSync(path, stringify({ dataDir: join(fx.dir, 'data'), listen: '0.0.0.0', limits: { shutdownGraceMs: 500 }, services }));
  return path;
}

/** /etc/netns/<ns>/resolv.conf: `ip netns exec` bind-mounts it over /etc/resolv.conf. */
function useResolver(ns: string, server: string): () => void {
  const dir = join('/etc/netns', ns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${server}\nsearch lab.test\noptions timeout:2 attempts:1\n`);
  return () => rmSync(dir, { recursive: true, force: true });
}

test.serial('a DHCP client resolves lab names with getent through labnet: host, services, its own name, reverse; the name goes on release', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  let cleanResolver = (): void => {};
  try {
    const link = fx.addLink();
    const dhcp = { interface: fx.bridge, subnet: `${PREFIX}.0/24`, range: [`${PREFIX}.100`, `${PREFIX}.140`], probeMs: 300, leaseSeconds: 600 };
    const lab = await fx.startLab(labConfig(fx, { dhcp, dns: { port: 53 } }), { args: ['--only', 'dhcp,dns'] });
    try {
      // A long-running udhcpc sending its host name; SIGUSR2 releases the lease (busybox udhcpc(8)).
      const { script, events } = udhcpcScript(fx, 'pc');
      const client = fx.spawnIn(
        fx.clientNs,
        ['busybox', 'udhcpc', '-i', link.name, '-s', script, '-f', '-t', '5', '-T', '2', '-A', '1', '-x', 'hostname:Student-PC'],
        {
          stdio: 'ignore',
        },
      );
      await waitFor(() => readEvents(events).some((e) => e.event === 'bound'), 20_000);
      const bound = readEvents(events).find((e) => e.event === 'bound');
      t.truthy(bound, JSON.stringify(readEvents(events)));
      // Nothing in services.dhcp.dns: DHCP hands out the lab DNS, on the lab interface's address.
      t.is(bound!.dns.trim(), `${PREFIX}.1`);
      cleanResolver = useResolver(fx.clientNs, bound!.dns.trim());
      const getent = async (...args: string[]) => (await fx.run(fx.clientNs, ['getent', 'hosts', ...args])).stdout.trim().split(/\s+/);
      t.deepEqual(await getent('labnet.lab.test'), [`${PREFIX}.1`, 'labnet.lab.test']);
      t.deepEqual(await getent('mail.lab.test'), [`${PREFIX}.1`, 'mail.lab.test']);
      t.deepEqual(await getent('autoconfig.lab.test'), [`${PREFIX}.1`, 'autoconfig.lab.test']);
      t.deepEqual(await getent('student-pc.lab.test'), [bound!.ip, 'student-pc.lab.test']);
      // The search domain from resolv.conf: a bare name works too.
      t.deepEqual(await getent('student-pc'), [bound!.ip, 'student-pc.lab.test']);
      t.deepEqual(await getent(`${PREFIX}.1`), [`${PREFIX}.1`, 'labnet.lab.test']);
      t.deepEqual(await getent(bound!.ip), [bound!.ip, 'student-pc.lab.test']);
      // Not a resolver: other names are refused (then tried with the search domain: no such name).
      const other = await fx.run(fx.clientNs, ['getent', 'hosts', 'www.debian.org']);
      t.is(other.code, 2);
      // Release: the name goes with the lease. The client's script flushed its address; a static one
      // outside the pool lets it ask again.
      client.kill('SIGUSR2');
      await lab.waitForLog(new RegExp(`${bound!.ip.replace(/\./g, '\\.')} released`));
      client.kill('SIGKILL');
      await fx.run(fx.clientNs, ['ip', 'addr', 'add', `${PREFIX}.50/24`, 'dev', link.name]);
      t.deepEqual(await getent('labnet.lab.test'), [`${PREFIX}.1`, 'labnet.lab.test']);
      const gone = await fx.run(fx.clientNs, ['getent', 'hosts', 'student-pc.lab.test']);
      t.is(gone.code, 2, gone.stdout);
      await fx.run(fx.clientNs, ['ip', 'addr', 'flush', 'dev', link.name]);
    } finally {
      await lab.stop();
    }
    // An explicit services.dhcp.dns wins over the lab DNS.
    const explicit = await fx.startLab(labConfig(fx, { dhcp: { ...dhcp, dns: [`${PREFIX}.53`] }, dns: { port: 53 } }, 'explicit.yaml'), {
      args: ['--only', 'dhcp,dns'],
      logLevel: 'warn',
    });
    try {
      const got = await udhcpcOnce(fx, link, { tag: 'pc3' });
      t.is(got.events.find((e) => e.event === 'bound')?.dns.trim(), `${PREFIX}.53`);
    } finally {
      await explicit.stop();
    }
  } finally {
    cleanResolver();
    await fx.destroy();
  }
});

test.serial('a stub resolver on 127.0.0.53:53: labnet binds each of its addresses instead of the wildcard, and says so', async (t) => {
  const fx = new NetnsFixture(PREFIX);
  try {
    const link = fx.addLink();
    // What systemd-resolved does: hold port 53 on 127.0.0.53 (UDP and TCP).
    const stub = fx.spawnIn(fx.serverNs, [
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').bind(53,'127.0.0.53',()=>require('net').createServer().listen(53,'127.0.0.53',()=>console.log('holding')))",
    ]);
    await new Promise<void>((resolve, reject) => {
      stub.stdout!.once('data', () => resolve());
      stub.once('exit', (code) => reject(new Error(`stub exited ${code}`)));
    });
    const lab = await fx.startLab(labConfig(fx, { dns: { port: 53 } }), { args: ['--only', 'dns'], logLevel: 'warn' });
    try {
      await lab.waitForLog(/port 53 on 0\.0\.0\.0 is taken \(a local stub resolver such as systemd-resolved listens on 127\.0\.0\.53:53\)/);
      const out = lab.stdout();
      t.notRegex(out, /listener error/);
      t.regex(out, new RegExp(`dns\\s+dns\\s+127\\.0\\.0\\.1\\s+53/udp`));
      t.regex(out, new RegExp(`dns\\s+dns-tcp\\s+${PREFIX.replace(/\./g, '\\.')}\\.1\\s+53/tcp`));
      await fx.run(fx.clientNs, ['ip', 'addr', 'add', `${PREFIX}.50/24`, 'dev', link.name]);
      const fromLan = await fx.run(fx.clientNs, ['dig', `@${PREFIX}.1`, '+short', '+time=2', '+tries=1', 'labnet.lab.test']);
      t.is(fromLan.stdout.trim(), `${PREFIX}.1`);
      const local = await fx.run(fx.serverNs, ['dig', '@127.0.0.1', '+short', '+time=2', '+tries=1', 'labnet.lab.test']);
      t.is(local.stdout.trim(), '127.0.0.1');
    } finally {
      await lab.stop();
    }
  } finally {
    await fx.destroy();
  }
});
