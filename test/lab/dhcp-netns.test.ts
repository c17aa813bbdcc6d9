// The DHCP view with a real DHCP client (root only: network namespaces). labnet serves DHCP and HTTP
// in a server namespace; busybox udhcpc gets a lease in a client namespace; then Chromium runs in the
// client namespace as the student's machine, browses /lab from its new address, logs in and sees its
// own DORA ladder, each packet with every BOOTP field and its options; Chromium in the server
// namespace, as the instructor, sees the same exchange and the lease table. Screenshots go to
// build/test-artifacts/lab/.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { chromium, type Browser, type Page } from 'playwright-core';
import { isRoot, lanDhcp, NetnsFixture } from '../dhcp/netns-fixture.js';
import { udhcpcOnce } from '../dhcp/clients.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { browserLogin } from './browser-login.js';

/** The text of each element (a page-side callback: serialised into the page, so it refers to nothing outside). */
function textsOf(els: unknown[]): string[] {
  return els.map((e) => (e as { textContent: string | null }).textContent ?? '');
}

const PREFIX = '10.63.0';
const SHOTS = join(PROJECT_ROOT, 'build', 'test-artifacts', 'lab');
const rootTest = isRoot() ? test.serial : test.serial.skip;

/** Chromium in a network namespace: a wrapper that execs it there (playwright talks to it over pipes). */
function chromiumIn(fx: NetnsFixture, ns: string, name: string): Promise<Browser> {
  const wrapper = fx.script(`${name}.sh`, `exec ip netns exec ${ns} /usr/bin/chromium "$@"`);
  return chromium.launch({
    executablePath: wrapper,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
}

async function loginAt(browser: Browser, base: string, user: string, password: string, width = 1280): Promise<Page> {
  return (await browserLogin(browser, base, { name: user, password }, { viewport: { width, height: 900 }, hash: '#/dhcp' })).page;
}

rootTest('a DHCP client in a network namespace produces the DORA ladder and a lease, seen by the student and the instructor', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const fx = new NetnsFixture(PREFIX);
  const browsers: Browser[] = [];
  const links: string[] = [];
  const leased: string[] = [];
  try {
    const config = join(fx.dir, 'labnet.yaml');
    writeFileSync(
      config,
      stringify({
        dataDir: join(fx.dir, 'data'),
        limits: { shutdownGraceMs: 1000 },
        users: [
          { name: 'alice', password: 'alice-pw' },
          { name: 'teach', password: 'teach-pw' },
        ],
        instructors: ['teach'],
        services: {
          http: { port: 80 },
          dhcp: lanDhcp(fx.bridge, PREFIX, [100, 120], { probeMs: 500, dns: [`${PREFIX}.53`], leaseSeconds: 600 }),
        },
      }),
    );
    const lab = await fx.startLab(config, { args: ['--only', 'dhcp,http'], logLevel: 'warn' });
    try {
      const link = fx.addLink();
      const { events } = await udhcpcOnce(fx, link, { tag: 'student', extra: ['-x', 'hostname:student-pc'] });
      const bound = events.find((e) => e.event === 'bound');
      t.truthy(bound, JSON.stringify(events));
      const address = bound!.ip;
      links.push(link.mac);
      leased.push(address);

      // The student's machine: Chromium in the client namespace, browsing from its leased address.
      const student = await chromiumIn(fx, fx.clientNs, 'student-chromium');
      browsers.push(student);
      const page = await loginAt(student, `http://${fx.serverIp}`, 'alice', 'alice-pw');
      await page.waitForSelector('.mac-ladder .rung', { timeout: 10_000 });
      const labels = await page.$$eval('.mac-ladder .rung-label', textsOf);
      t.deepEqual(labels.slice(0, 4), ['DISCOVER', 'OFFER', 'REQUEST', 'ACK']);
      t.regex((await page.textContent('.mac-ladder h3'))!, new RegExp(`${link.mac}.*${address.replace(/\./g, '\\.')}`));
      // Each packet opens to every BOOTP field and its options, with what the message does.
      for (const [i, type] of ['DISCOVER', 'OFFER', 'REQUEST', 'ACK'].entries()) {
        await page.click(`.mac-ladder .rung:nth-child(${i + 1}) .rung-arrow`);
        const box = page.locator(`.mac-ladder .rung:nth-child(${i + 1}) .dhcp-details`);
        await box.waitFor();
        const fields = await box.locator('table.bootp tbody tr td:first-child').allTextContents();
        t.deepEqual(
          fields,
          ['op', 'htype', 'hlen', 'hops', 'xid', 'secs', 'flags', 'ciaddr', 'yiaddr', 'siaddr', 'giaddr', 'chaddr', 'sname', 'file', 'magic cookie'],
          type,
        );
        const options = await box.locator('table.options tbody tr').allTextContents();
        t.true(
          options.some((o) => o.startsWith('53messageType')),
          `${type}: option 53`,
        );
        t.regex((await box.locator('.explain').textContent())!, /\w/);
        if (type === 'ACK') {
          t.true(
            options.some((o) => o.startsWith('51leaseTime600 s')),
            'lease time',
          );
          t.true(options.some((o) => o.startsWith('1subnetMask255.255.255.0')));
          t.true(options.some((o) => o.startsWith(`3router${PREFIX}.1`)));
          t.regex((await box.locator('table.bootp').textContent())!, new RegExp(`yiaddr.*${address.replace(/\./g, '\\.')}`));
        }
        if (type === 'DISCOVER') t.regex((await box.locator('table.bootp').textContent())!, /0x8000 \(broadcast bit set\)|0x0000 \(broadcast bit clear\)/);
      }
      const lease = await page.locator(`table.leases tr[data-mac="${link.mac}"]`).textContent();
      t.regex(lease!, new RegExp(`${address.replace(/\./g, '\\.')}.*student-pc.*bound`));
      await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
      await page.screenshot({ path: join(SHOTS, 'dhcp-student-desktop.png'), fullPage: true });

      // The instructor, on the lab machine itself.
      const teacher = await chromiumIn(fx, fx.serverNs, 'teacher-chromium');
      browsers.push(teacher);
      const tp = await loginAt(teacher, 'http://127.0.0.1', 'teach', 'teach-pw');
      await tp.waitForSelector(`.mac-list a[data-mac="${link.mac}"]`, { timeout: 10_000 });
      t.deepEqual((await tp.$$eval('.mac-ladder .rung-label', textsOf)).slice(0, 4), ['DISCOVER', 'OFFER', 'REQUEST', 'ACK']);
      await tp.click('.mac-ladder .rung:nth-child(2) .rung-arrow');
      await tp.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
      await tp.screenshot({ path: join(SHOTS, 'dhcp-instructor-desktop.png'), fullPage: true });
      await tp.screenshot({ path: join(SHOTS, 'dhcp-instructor-desktop.screen.png') });
      const phone = await loginAt(teacher, 'http://127.0.0.1', 'teach', 'teach-pw', 390);
      await phone.waitForSelector('.mac-ladder .rung');
      await phone.click('.mac-ladder .rung:nth-child(1) .rung-arrow');
      await phone.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
      await phone.screenshot({ path: join(SHOTS, 'dhcp-phone.png'), fullPage: true });
      // labnet's own check for other DHCP servers: a DISCOVER with the server's MAC, shown as such.
      const probe = tp.locator('.mac-list a', { hasText: "this server's own probe" });
      await probe.first().click();
      await tp.waitForSelector('.probe-note');
      t.regex((await tp.textContent('.mac-ladder h3'))!, /this server's MAC/);
      t.is((await tp.$$eval('.mac-ladder .rung-label', textsOf))[0], 'DISCOVER');
      await tp.screenshot({ path: join(SHOTS, 'dhcp-probe-desktop.png'), fullPage: true });
      await phone.close();
      await tp.close();
    } finally {
      await lab.stop();
    }
    // A restart: the lease table comes back from the lease journal before any client speaks again.
    const again = await fx.startLab(config, { args: ['--only', 'dhcp,http'], logLevel: 'warn' });
    try {
      const teacher = browsers[1];
      const tp = await loginAt(teacher, 'http://127.0.0.1', 'teach', 'teach-pw');
      const row = tp.locator(`table.leases tr[data-mac="${links[0]}"]`);
      await row.waitFor({ timeout: 10_000 });
      t.regex((await row.textContent())!, new RegExp(`${leased[0].replace(/\./g, '\\.')}.*student-pc.*bound.*from the journal`));
      await tp.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
      await tp.screenshot({ path: join(SHOTS, 'dhcp-restored-desktop.png'), fullPage: true });
    } finally {
      await again.stop();
    }
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    await fx.destroy();
  }
});
