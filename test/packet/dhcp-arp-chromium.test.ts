// DHCP and ARP in the packet view, in real Chromium (root only: network namespaces and the capture). A
// real labnet serves DHCP and HTTP in a server namespace with its capture on the lab bridge; busybox
// udhcpc gets a lease in a client namespace and arping asks for the server's MAC. The instructor (in
// Chromium on the lab machine) goes from the DHCP ladder's ACK to the frame that carried it, sees the
// frame's BOOTP fields decoded, and comes back to the ladder from the flow; then opens the ARP
// exchange and sees what it resolved. Screenshots go to build/artifacts/packet/ (not committed).
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { isRoot, NetnsFixture } from '../dhcp/netns-fixture.js';
import { udhcpcOnce } from '../dhcp/clients.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { startNetnsLab, USERS } from './netns-lab.js';

const SHOTS = join(PROJECT_ROOT, 'build', 'artifacts', 'packet');
const rootTest = isRoot() ? test.serial : test.serial.skip;

/** The text of each element (a page-side callback: serialised into the page, so it refers to nothing outside). */
function textsOf(els: unknown[]): string[] {
  return els.map((e) => (e as { textContent: string | null }).textContent ?? '');
}

function dataFields(els: unknown[]): string[] {
  return els.map((e) => (e as { dataset: Record<string, string> }).dataset.field ?? '');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  await page.screenshot({ path: join(SHOTS, `${name}.screen.png`) });
}

rootTest('from the DHCP ladder to the frame that carried the ACK, its BOOTP fields decoded, and back; an ARP exchange and what it resolved', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const fx = new NetnsFixture('10.71.0');
  let browser: Browser | undefined;
  try {
    const lab = await startNetnsLab(fx, {}, 'http,dhcp');
    try {
      const link = fx.addLink();
      const { events } = await udhcpcOnce(fx, link, { tag: 'student' });
      const bound = events.find((e) => e.event === 'bound');
      t.truthy(bound, JSON.stringify(events));
      const arping = await fx.run(fx.clientNs, ['arping', '-c', '2', '-I', link.name, fx.serverIp]);
      t.is(arping.code, 0, arping.stderr);

      // The instructor, on the lab machine (Chromium in the server namespace).
      const wrapper = fx.script('teacher-chromium.sh', `exec ip netns exec ${fx.serverNs} /usr/bin/chromium "$@"`);
      browser = await chromium.launch({
        executablePath: wrapper,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        timeout: 60_000,
      });
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const base = `http://127.0.0.1:${lab.ports.http}`;
      await page.goto(`${base}/lab`);
      await page.fill('input[name=user]', USERS[0].name);
      await page.fill('input[name=password]', USERS[0].password);
      // The page is at /lab already: wait for the logged-in page the login's 303 leads to, not for the URL.
      await Promise.all([page.waitForSelector('form.account'), page.click('form.login button')]);
      await page.goto(`${base}/lab#/dhcp/${encodeURIComponent(link.mac)}`);
      await page.waitForSelector('#conn.conn-live');
      await page.waitForSelector('.mac-ladder .rung', { timeout: 10_000 });
      const labels = await page.$$eval('.mac-ladder .rung-label', textsOf);
      const ack = labels.indexOf('ACK');
      t.true(ack >= 0, labels.join(', '));

      // The ACK's details link to the frame that carried it.
      await page.click(`.mac-ladder .rung:nth-child(${ack + 1}) .rung-arrow`);
      const frameLink = page.locator(`.mac-ladder .rung:nth-child(${ack + 1}) .dhcp-details .frame-link a`);
      await frameLink.waitFor({ timeout: 10_000 });
      t.regex((await frameLink.textContent())!, /^Frame \d+: its Ethernet, IPv4 and UDP headers/);
      await shot(page, 'dhcp-ladder-frame-link');
      await frameLink.click();
      await page.waitForURL(/#\/packets\/f\d+\/\d+/);
      await page.waitForSelector('.frame .encapsulation');
      const parts = await page.$$eval('.encap-part .encap-name', textsOf);
      t.deepEqual(parts.slice(0, 3), ['Ethernet header', 'IPv4 header', 'UDP header'], parts.join(' | '));
      // The BOOTP fields, decoded: a reply, to the client's MAC, with its new address.
      const fields = await page.$$eval('.field-line[data-field]', dataFields);
      for (const id of ['dhcp.type', 'dhcp.id', 'dhcp.flags.bc', 'dhcp.ip.your', 'dhcp.hw.mac_addr'])
        t.true(fields.includes(id), `${id} in ${fields.join(' ')}`);
      // The layer's line names the message (option 53); the DHCP view, one link away, decodes every option.
      const layerLine = await page.locator('.frame summary', { hasText: 'DHCP ACK' }).first().textContent();
      t.regex(layerLine!, new RegExp(`DHCP ACK xid 0x[0-9a-f]{8} from client ${link.mac}`));
      t.regex((await page.locator('.field-line[data-field="dhcp.ip.your"]').first().textContent())!, new RegExp(bound!.ip.replace(/\./g, '\\.')));
      t.regex((await page.locator('.field-line[data-field="dhcp.hw.mac_addr"]').first().textContent())!, new RegExp(link.mac));
      // A field's bytes light up in the byte pane: yiaddr is 4 bytes at 14 + 20 + 8 + 16.
      await page.locator('.field-line[data-field="dhcp.ip.your"]').first().click();
      t.deepEqual(await page.$$eval('.hexdump .hb.on', (els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.i)), [
        '58',
        '59',
        '60',
        '61',
      ]);
      await shot(page, 'dhcp-ack-frame');

      // And back: the flow leads to this client in the DHCP ladder.
      await page.click('a:has-text("This client in the DHCP ladder")');
      await page.waitForURL(/#\/dhcp\//);
      await page.waitForSelector('.mac-ladder .rung');
      t.regex((await page.textContent('.mac-ladder h3'))!, new RegExp(link.mac));

      // The ARP exchange arping made: who has the server's address, and the MAC it resolved to.
      await page.goto(`${base}/lab#/packets`);
      const arp = page.locator('li.flow', { hasText: `ARP: who has ${fx.serverIp}?` });
      await arp.first().waitFor({ timeout: 10_000 });
      await arp.first().locator('button').click();
      await page.waitForSelector('.arp-box');
      t.regex((await page.textContent('.arp-box'))!, new RegExp(`${fx.serverIp.replace(/\./g, '\\.')} is at [0-9a-f]{2}(:[0-9a-f]{2}){5}`));
      const rows = await page.$$eval('table.frames tr.frame-row', textsOf);
      t.true(rows.some((r) => r.includes(`Who has ${fx.serverIp}?`)) && rows.some((r) => r.includes(`${fx.serverIp} is at`)), rows.join('\n'));
      await page.click('table.frames tr.frame-row >> nth=0');
      await page.waitForSelector('.frame .encapsulation');
      const arpFields = await page.$$eval('.field-line[data-field]', dataFields);
      for (const id of ['arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4'])
        t.true(arpFields.includes(id), `${id} in ${arpFields.join(' ')}`);
      await shot(page, 'arp-exchange');
    } finally {
      await lab.stop();
    }
  } finally {
    await browser?.close().catch(() => {});
    await fx.destroy();
  }
});
