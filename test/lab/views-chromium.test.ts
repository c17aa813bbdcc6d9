// The views the lab-polish work changed, in real Chromium (playwright-core, /usr/bin/chromium) against
// an in-process lab with HTTP (HTTPS handshake tap off), SMTP, POP3 and DNS: the DNS view (dig from two
// "student machines", per address, header flags, question, answers; a student sees only their own), the
// TLS tab of an untapped HTTPS session (what node:tls reported), and the payloads of a real exchange
// (nodemailer's message under DATA, HTTP header fields). Screenshots go to build/test-artifacts/lab/.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLabnet } from '../../app/labnet.js';
import type { LabnetHandle } from '../../core/host.js';
import { PROJECT_ROOT } from '../support/lab-process.js';
import { dig } from '../dns/dig.js';
import type { LabHub } from '../../core/lab/hub.js';
import { TOKENS } from '../../core/tokens.js';
import { browserLogin, unfolded } from './browser-login.js';

const SHOTS = join(PROJECT_ROOT, 'build', 'test-artifacts', 'lab');
const USERS = [
  { name: 'alice', password: 'alice-pw-1' },
  { name: 'teach', password: 'teach-pw-3' },
];

function textsOf(els: unknown[]): string[] {
  return els.map((e) => (e as { textContent: string | null }).textContent ?? '');
}

let lab: LabnetHandle;
let browser: Browser;
let dataDir: string;

test.before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'labnet-lab-views-'));
  lab = await startLabnet({
    defaults: false,
    logLevel: 'silent',
    config: {
      listen: '127.0.0.1',
      dataDir,
      users: USERS,
      instructors: ['teach'],
      services: {
        http: { port: 0, httpsPort: 0, handshakeDemo: false },
        smtp: { port: 0, submissionPort: 0, smtpsPort: 0 },
        dns: { port: 0, rateLimitPerSecond: 0, hostAddresses: ['192.0.2.10'] },
      },
    },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
});

test.after.always(async () => {
  await browser?.close();
  await lab?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function loggedIn(user: (typeof USERS)[number], hash: string): Promise<Page> {
  return (await browserLogin(browser, `http://127.0.0.1:${lab.port('http')}`, user, { hash })).page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  await page.screenshot({ path: join(SHOTS, `${name}.screen.png`) });
}

test.serial('the DNS view: queries and answers per student machine, with header flags, question and answers; a student sees only their own', async (t) => {
  const teach = await loggedIn(USERS[1], '#/dns');
  const alice = await loggedIn(USERS[0], '#/dns');
  try {
    const port = lab.port('dns');
    // dig from two machines: 127.0.0.5 (another student) and 127.0.0.1 (alice's browser's address).
    const a = await dig('127.0.0.1', port, ['mail.lab.test', 'A', '-b', '127.0.0.5']);
    t.is(a.status, 'NOERROR');
    await dig('127.0.0.1', port, ['nothing-here.lab.test', 'A', '-b', '127.0.0.5']);
    await dig('127.0.0.1', port, ['www.example.com', 'A', '-b', '127.0.0.5']);
    await dig('127.0.0.1', port, ['labnet.lab.test', 'AAAA', '-b', '127.0.0.1']);
    await teach.waitForSelector('.mac-list a[data-address="127.0.0.5"]', { timeout: 10_000 });
    await teach.click('.mac-list a[data-address="127.0.0.5"]');
    await teach.waitForFunction(
      () =>
        (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.dns-exchange').length === 3,
    );
    const lines = await teach.$$eval('.dns-line', textsOf);
    t.true(
      lines.some((l) => l.includes('A mail.lab.test.') && l.includes('NOERROR') && l.includes('192.0.2.10')),
      lines.join(' / '),
    );
    t.true(lines.some((l) => l.includes('nothing-here.lab.test.') && l.includes('NXDOMAIN') && l.includes('no such name in the lab zone')));
    t.true(lines.some((l) => l.includes('www.example.com.') && l.includes('REFUSED') && l.includes('the lab DNS answers only for lab names')));
    await teach.click('.dns-line:has-text("mail.lab.test")');
    const box = teach.locator('.dns-details');
    await box.waitFor();
    const header = await box.locator('table.dns-header').last().locator('tbody tr').allTextContents();
    t.true(
      header.some((r) => r.startsWith('aa1')),
      `the response is authoritative: ${header.join(' / ')}`,
    );
    t.true(header.some((r) => r.startsWith('qr1')));
    t.true(header.some((r) => r.startsWith('rcodeNOERROR')));
    t.regex((await box.locator('table.records').textContent())!, /mail\.lab\.test\..*A.*192\.0\.2\.10/);
    t.regex((await box.locator('table.question').textContent())!, /mail\.lab\.test\.AIN/);
    await shot(teach, 'dns-instructor-desktop');
    // alice (browsing from 127.0.0.1) sees her own query, never 127.0.0.5's.
    await alice.waitForSelector('.dns-exchange', { timeout: 10_000 });
    t.deepEqual(await alice.$$eval('.mac-list a', (els) => els.map((e) => (e as unknown as { dataset: Record<string, string> }).dataset.address)), [
      '127.0.0.1',
    ]);
    t.false((await alice.textContent('.view.dns'))!.includes('mail.lab.test'));
    // Her AAAA query: the lab host has no IPv6 address, NOERROR with no records (NODATA), said so.
    const aaaa = (await alice.textContent('.dns-line:has-text("AAAA labnet.lab.test.")'))!;
    t.regex(aaaa, /NOERROR/);
    t.regex(aaaa, /no AAAA record for this name \(NODATA\): the name exists, it has no IPv6 address/);
    t.notRegex(aaaa, /\(no records\)/);
    await alice.click('.dns-line:has-text("AAAA labnet.lab.test.")');
    t.regex(
      (await alice.locator('.dns-details .dns-nodata').textContent())!,
      /^Answer: none\. No AAAA record for this name \(NODATA, RFC 2308 section 2\.2\): the name exists, it has no IPv6 address\. The SOA record under Authority/,
    );
    await shot(alice, 'dns-student-desktop');
  } finally {
    await teach.context().close();
    await alice.context().close();
  }
});

test.serial('the TLS tab of a session whose handshake was not tapped shows what node:tls reported', async (t) => {
  const teach = await loggedIn(USERS[1], '#/sessions?service=https');
  try {
    const r = await fetch(`http://127.0.0.1:${lab.port('http')}/index.html`);
    t.is(r.status, 200);
    const { execFile } = await import('node:child_process');
    const code = await new Promise<string>((resolve) =>
      execFile('curl', ['-sk', '--http1.1', '-o', '/dev/null', '-w', '%{http_code}', `https://localhost:${lab.port('http', 'https')}/index.html`], (_e, out) =>
        resolve(out),
      ),
    );
    t.is(code, '200');
    await teach.click('tr.row', { timeout: 10_000 });
    await teach.waitForSelector('.line.kind-close');
    await teach.waitForSelector('.transcript[data-loaded="true"]');
    await teach.click('.subtabs a:has-text("TLS handshake")');
    const table = teach.locator('table.observed');
    await table.waitFor({ timeout: 10_000 });
    const text = (await table.textContent())!;
    t.regex(text, /versionTLS 1\.3/);
    t.regex(text, /cipher suiteTLS_AES_\d+_GCM_SHA\d+|cipher suiteTLS_CHACHA20/);
    t.regex(text, /SNI \(server name\)localhost/);
    t.regex(text, /certificate names.*DNS:localhost/);
    t.regex((await teach.textContent('.tls-body'))!, /not recorded message by message/);
    await shot(teach, 'tls-untapped-desktop');
  } finally {
    await teach.context().close();
  }
});

test.serial('payloads of a real exchange: the message under DATA, HTTP header fields, folded and expandable, credentials redacted', async (t) => {
  const teach = await loggedIn(USERS[1], '#/sessions?service=smtp');
  try {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: lab.port('smtp'),
      secure: false,
      ignoreTLS: true,
      auth: { user: 'alice', pass: USERS[0].password },
    });
    await transport.sendMail({ from: 'alice@lab.test', to: 'teach@lab.test', subject: 'Lab report <week 3>', text: 'Hello,\n\nthe report is attached.\n' });
    await teach.click('tr.row', { timeout: 10_000 });
    await teach.waitForSelector('.line.kind-close');
    await teach.waitForSelector('.transcript[data-loaded="true"]');
    const fold = teach.locator('.line:has(pre.text:text("<message data:")) .payload-box button.fold');
    t.regex((await fold.textContent())!, /^message: \d+ B: show$/);
    await fold.click();
    const shown = await unfolded(teach.locator('.line:has(pre.text:text("<message data:")) pre.payload'));
    t.true(shown.includes('Subject: Lab report <week 3>'), shown);
    t.true(shown.includes('the report is attached.'));
    await shot(teach, 'transcript-smtp-payload-desktop');
    // HTTP: the request's header fields, Authorization redacted.
    await fetch(`http://127.0.0.1:${lab.port('http')}/hello.txt`, { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0', 'X-Lab': 'week 3' } });
    await lab.events.settled();
    const hub = lab.get<LabHub>(TOKENS.Lab);
    const viewer = { role: 'instructor', user: 'teach', address: '127.0.0.1' } as const;
    const id = hub
      .listSessions(viewer, { service: 'http' })
      .find((x) => hub.transcript(viewer, x.id)!.lines.some((l) => l.text.startsWith('GET /hello.txt')))!.id;
    await teach.goto(`http://127.0.0.1:${lab.port('http')}/lab#/session/${id}`);
    const req = teach.locator('.line:has(pre.text:text("GET /hello.txt")) .payload-box button.fold');
    await req.waitFor({ timeout: 10_000 });
    t.regex((await req.textContent())!, /^header fields \(\d+\): show$/);
    await req.click();
    const fields = await unfolded(teach.locator('.line:has(pre.text:text("GET /hello.txt")) pre.payload'));
    t.regex(fields, /Authorization: <redacted>/);
    t.regex(fields, /X-Lab: week 3/);
    t.false(fields.includes('YWxpY2U6c2VjcmV0'));
    await teach.locator('.line.dir-s .payload-box button.fold').first().click();
    await shot(teach, 'transcript-http-headers-desktop');
  } finally {
    await teach.context().close();
  }
});
